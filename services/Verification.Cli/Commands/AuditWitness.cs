using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;

namespace Verification.Cli.Commands;

/// <summary>
/// <c>verification audit witness</c>: an auditor institution (BPK, the finance ministry) follows the log's signed heads,
/// checks each is consistent with every head it saw before, and cosigns it with its own P-256 key. A head that rolls
/// the log back or forks it is never cosigned, so auditors who require cosignatures never accept it.
/// </summary>
public static class AuditWitness
{
    public static Command Create(CommandContext context)
    {
        var publicKey = new Option<FileInfo>("--public-key") { Description = "The log's published public key (PEM).", Required = true };
        var witnessKey = new Option<FileInfo>("--witness-key") { Description = "Your witness private key (PEM, P-256). Its public key is what auditors give to 'audit verify --witness-key'.", Required = true };
        var state = new Option<FileInfo?>("--state") { Description = "Where the last head you cosigned is kept (default: ~/.config/verification/witness-<server>.json)." };
        var once = new Option<bool>("--once") { Description = "Cosign the current head and stop (default: follow the log until interrupted)." };
        var interval = new Option<int>("--interval") { Description = "Seconds between looks at the log when following it.", DefaultValueFactory = _ => 5 };
        var command = new Command("witness", "Follow the log's signed heads, check each extends every head you saw before, and cosign it with your witness key.")
            { publicKey, witnessKey, state, once, interval };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var client = new AuditService.AuditServiceClient(channel);
            using var logKey = TreeHeadVerifier.FromPublicKeyPem(await File.ReadAllTextAsync(result.GetValue(publicKey)!.FullName, cancellationToken));
            using var key = LoadWitnessKey(result.GetValue(witnessKey)!.FullName);
            var witnessPublicPem = key.ExportSubjectPublicKeyInfoPem();
            var stateFile = result.GetValue(state)?.FullName ?? AuditCommands.DefaultStateFile(context.AddressOf(result)).Replace("audit-head-", "witness-", StringComparison.Ordinal);
            while (true)
            {
                var proto = (await client.GetTreeHeadAsync(new GetTreeHeadRequest(), new CallOptions(cancellationToken: cancellationToken))).TreeHead;
                var head = AuditCommands.ToVerified(proto);
                if (!logKey.Verify(head))
                {
                    printer.Error($"the head of {head.Head.TreeSize} entries does not verify under the log's key: not cosigned");
                    return ExitCodes.No;
                }

                var last = Load(stateFile);
                if (last is not null && last.TreeSize == head.Head.TreeSize && last.RootHash == Convert.ToHexStringLower(head.Head.RootHash))
                {
                    // Already cosigned this head.
                }
                else
                {
                    if (last is not null && await RefusalAsync(client, logKey, last, head, cancellationToken) is { } refusal)
                    {
                        printer.Error($"REFUSED to cosign the head of {head.Head.TreeSize} entries: {refusal}. Report this to the log operator and the other auditors.");
                        return ExitCodes.No;
                    }

                    var signature = Audit.Verifier.Cosignature.Sign(key, head.Head, proto.KeyId);
                    var answer = await client.AddCosignatureAsync(new AddCosignatureRequest
                    {
                        TreeSize = head.Head.TreeSize,
                        WitnessPublicKey = witnessPublicPem,
                        Signature = ByteString.CopyFrom(signature),
                    }, new CallOptions(cancellationToken: cancellationToken));
                    new WitnessState(head.Head.TreeSize, head.Head.TimestampMilliseconds, Convert.ToHexStringLower(head.Head.RootHash), Convert.ToBase64String(head.Signature)).Save(stateFile);
                    if (printer.Json) printer.JsonValue(new { cosigned = head.Head.TreeSize, witnessKeyId = answer.WitnessKeyId });
                    else printer.Line($"cosigned the head of {head.Head.TreeSize} entries as witness {answer.WitnessKeyId[..16]}…");
                }

                if (result.GetValue(once)) return ExitCodes.Ok;
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, result.GetValue(interval))), cancellationToken);
            }
        }));
        return command;
    }

    /// <summary>Why the new head must not be cosigned, or null when it extends the last one cosigned.</summary>
    private static async Task<string?> RefusalAsync(AuditService.AuditServiceClient client, TreeHeadVerifier logKey, WitnessState last, Audit.Verifier.SignedTreeHead head, CancellationToken cancellationToken)
    {
        if (head.Head.TreeSize < last.TreeSize) return $"the log shrank from {last.TreeSize} entries (a rollback)";
        if (head.Head.TimestampMilliseconds < last.TimestampMilliseconds) return "it is dated before the last head cosigned";
        if (head.Head.TreeSize == last.TreeSize) return "another head of the same size was cosigned before (a fork)";
        var proof = await client.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = last.TreeSize, SecondSize = head.Head.TreeSize }, new CallOptions(cancellationToken: cancellationToken));
        var earlier = new Audit.Verifier.SignedTreeHead(new TreeHead(last.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(last.TimestampMilliseconds), Convert.FromHexString(last.RootHash)), Convert.FromBase64String(last.Signature));
        var finding = new LogAuditor(logKey).CheckGrowth(earlier, head, [.. proof.Proof.Path.Select(p => p.ToByteArray())]);
        return finding == AuditFinding.Verified ? null : $"it does not extend the head of {last.TreeSize} entries cosigned before ({finding})";
    }

    private static ECDsa LoadWitnessKey(string path)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.KeySize != 256) throw new CryptographicException("not P-256");
            _ = key.ExportParameters(includePrivateParameters: true);
            return key;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new UsageException($"--witness-key: {path} holds no P-256 private key (PEM 'PRIVATE KEY' or 'EC PRIVATE KEY')");
        }
    }

    private static WitnessState? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<WitnessState>(File.ReadAllText(path)) ?? throw new JsonException("empty");
        }
        catch (JsonException)
        {
            throw new UsageException($"the witness state in {path} is unreadable; restore it from your backup");
        }
    }

    /// <summary>The last head this witness cosigned.</summary>
    private sealed record WitnessState(long TreeSize, long TimestampMilliseconds, string RootHash, string Signature)
    {
        public void Save(string path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(this));
            File.Move(temporary, path, overwrite: true);
        }
    }
}
