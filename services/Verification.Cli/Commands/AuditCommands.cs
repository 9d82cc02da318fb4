using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Spectre.Console;
using Verification.Cli.Output;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Grpc.Core;
using ProtoTreeHead = Verification.Api.Audit.V1.SignedTreeHead;
using VerifiedTreeHead = Verification.Audit.Verifier.SignedTreeHead;

namespace Verification.Cli.Commands;

/// <summary><c>verification audit …</c>: trace the trail and prove, trusting only the log's public key, that it was not altered.</summary>
public static class AuditCommands
{
    public static Command Create(CommandContext context)
    {
        var audit = new Command("audit", "Trace enrolment events and verify the audit log (auditor members).");
        audit.Subcommands.Add(Trace(context));
        audit.Subcommands.Add(Verify(context));
        audit.Subcommands.Add(AuditWitness.Create(context));
        return audit;
    }

    private sealed record Filters(Option<string?> Nik, Option<string?> Loan, Option<string?> Batch, Option<string?> Participant, Option<string?> Member, Option<string?> Correlation, Option<string?> Type)
    {
        public static Filters Create() => new(
            new("--nik") { Description = "By NIK (the server hashes it; it is never stored)." },
            new("--loan") { Description = "By SIKP loan reference." },
            new("--batch") { Description = "By Prakerja batch id." },
            new("--participant") { Description = "By participant number." },
            new("--member") { Description = "By member code." },
            new("--correlation") { Description = "By correlation id." },
            new("--type") { Description = "By event type, e.g. KurBorrowerEnrolled." });

        public void AddTo(Command command)
        {
            foreach (var option in new[] { Nik, Loan, Batch, Participant, Member, Correlation, Type }) command.Options.Add(option);
        }

        public TraceRequest? Request(ParseResult result)
        {
            var request = new TraceRequest { Order = TraceOrder.OldestFirst, Limit = 10_000 };
            var set = 0;
            if (result.GetValue(Nik) is { } nik) { request.Nik = nik; set++; }
            if (result.GetValue(Loan) is { } loan) { request.LoanReference = loan; set++; }
            if (result.GetValue(Batch) is { } batch) { request.BatchId = batch; set++; }
            if (result.GetValue(Participant) is { } participant) { request.ParticipantNumber = participant; set++; }
            if (result.GetValue(Member) is { } member) { request.MemberCode = member; set++; }
            if (result.GetValue(Correlation) is { } correlation) { request.CorrelationId = correlation; set++; }
            if (result.GetValue(Type) is { } type) { request.EventType = type; set++; }
            if (set > 1) throw new UsageException("give at most one of --nik, --loan, --batch, --participant, --member, --correlation, --type");
            return set == 0 ? null : request;
        }
    }

    private static Command Trace(CommandContext context)
    {
        var filters = Filters.Create();
        var command = new Command("trace", "List the log entries for one NIK, loan, batch, participant, member, correlation id or event type, oldest first.");
        filters.AddTo(command);
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = filters.Request(result) ?? throw new UsageException("give one of --nik, --loan, --batch, --participant, --member, --correlation, --type");
            var entries = await TraceAsync(new AuditService.AuditServiceClient(channel), request, cancellationToken);
            // The fields are only what the server says; the canonical bytes are what the log commits to.
            var contradicted = entries.Select(e => (Entry: e, Mismatches: Contradictions(e))).Where(x => x.Mismatches.Count > 0).ToList();
            if (printer.Json)
            {
                foreach (var entry in entries) printer.Message(entry);
            }
            else
            {
                var table = new Table().AddColumns("index", "occurred (UTC)", "event", "member", "NIK", "participant", "loan", "batch", "detail", "trace");
                foreach (var e in entries)
                    table.AddRow(e.Index.ToString(), e.OccurTime?.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss") ?? "", Markup.Escape(e.EventType), Markup.Escape(e.ActingMemberCode), e.Keys?.MaskedNik ?? "", e.Keys?.ParticipantNumber ?? "", Markup.Escape(e.Keys?.LoanReference ?? ""), e.Keys?.BatchId ?? "", Markup.Escape(Detail(e)), e.TraceId);
                printer.Console.Write(table);
                printer.Line($"{entries.Count} entr{(entries.Count == 1 ? "y" : "ies")}");
            }
            foreach (var (entry, mismatches) in contradicted)
                foreach (var mismatch in mismatches) printer.Error($"entry {entry.Index}: the server's {mismatch} — do not rely on this trace; run 'audit verify'.");
            return contradicted.Count == 0 ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static Command Verify(CommandContext context)
    {
        var publicKey = new Option<FileInfo>("--public-key") { Description = "The log's published public key (PEM). Never take it from the log itself.", Required = true };
        var state = new Option<FileInfo?>("--state") { Description = "Where the last verified head and the checked entries' compact range are kept (default: ~/.config/verification/audit-head-<server>.json)." };
        var headOnly = new Option<bool>("--head-only") { Description = "Check only the signed head and its consistency with the last one verified; the entries are not downloaded or checked." };
        var witnessKeys = new Option<FileInfo[]>("--witness-key") { Description = "A witness's public key (PEM); repeatable. Only a head cosigned by --quorum of them is accepted.", AllowMultipleArgumentsPerToken = false };
        var quorum = new Option<int>("--quorum") { Description = "How many of the --witness-key witnesses must have cosigned the head (default: all)." };
        var filters = Filters.Create();
        var command = new Command("verify",
            "Check the log: its signed tree head, its consistency with the last head you verified, every entry since then (recomputed from its bytes, "
            + "fields compared, root matched), and (with a filter) the inclusion of the traced entries. Exit 0 only if the log is intact.") { publicKey, state, headOnly, witnessKeys, quorum };
        filters.AddTo(command);
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var client = new AuditService.AuditServiceClient(channel);
            var keyFile = result.GetValue(publicKey)!.FullName;
            var keyPem = await File.ReadAllTextAsync(keyFile, cancellationToken);
            TreeHeadVerifier verifier;
            try
            {
                verifier = TreeHeadVerifier.FromPublicKeyPem(keyPem);
            }
            catch (ArgumentException)
            {
                throw new UsageException($"--public-key: {keyFile} holds no ECDSA P-256 public key (PEM 'PUBLIC KEY'); give the log's published public key, not a private key");
            }

            using var _ = verifier;
            var auditor = new LogAuditor(verifier);
            var findings = new List<string>();
            var checks = new List<string>();

            var witnesses = (result.GetValue(witnessKeys) ?? []).Select(file => ReadWitnessKey(file.FullName)).DistinctBy(w => w.KeyId).ToList();
            var needed = result.GetValue(quorum) is > 0 and var q ? q : witnesses.Count;
            if (witnesses.Count > 0 && needed > witnesses.Count) throw new UsageException($"--quorum {needed} is more than the {witnesses.Count} witness keys given");
            var request = new GetTreeHeadRequest();
            if (witnesses.Count > 0)
            {
                request.WitnessKeyIds.AddRange(witnesses.Select(w => w.KeyId));
                request.Quorum = needed;
            }

            GetTreeHeadResponse answer;
            try
            {
                answer = await client.GetTreeHeadAsync(request, new CallOptions(cancellationToken: cancellationToken));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound && witnesses.Count > 0)
            {
                printer.Line($"[red]✗ no signed head is cosigned by {needed} of your {witnesses.Count} witnesses[/]");
                printer.Line("[red bold]LOG NOT INTACT: do not rely on it; report this to the log operator and your supervisor.[/]");
                return ExitCodes.No;
            }

            var proto = answer.TreeHead;
            var head = ToVerified(proto);
            var keyId = KeyId(keyPem);
            if (!string.Equals(proto.KeyId, keyId, StringComparison.OrdinalIgnoreCase)) findings.Add($"the head names key {proto.KeyId}, not the published key {keyId}");
            if (!verifier.Verify(head)) findings.Add("the tree head's signature does not verify under the published key");
            else checks.Add($"signed tree head: {head.Head.TreeSize} entries at {head.Head.Timestamp:u}");
            if (witnesses.Count > 0)
            {
                var valid = witnesses.Count(w => proto.Cosignatures.Any(c => c.WitnessKeyId == w.KeyId
                    && Audit.Verifier.Cosignature.Verify(w.PublicKeyPem, head.Head, proto.KeyId, c.Signature.Span)));
                if (valid < needed) findings.Add($"the head is cosigned by {valid} of your witnesses, {needed} needed");
                else checks.Add($"cosigned by {valid} of your {witnesses.Count} witnesses");
            }
            // Bad news from the operator is believable; good news is not proof, so it is never counted as a check (and our own checks still run).
            var admitted = answer.Integrity is { Intact: false } damage ? $"the log's own integrity check found damage: {damage.Problem}" : null;

            var stateFile = result.GetValue(state)?.FullName ?? DefaultStateFile(context.AddressOf(result));
            var last = AuditState.Load(stateFile);
            var checkedRange = last?.CheckedRange() ?? CompactRange.Empty();
            if (findings.Count == 0 && last is not null)
            {
                if (last.TreeSize > head.Head.TreeSize)
                {
                    findings.Add($"the log shrank from {last.TreeSize} to {head.Head.TreeSize} entries since you last verified it");
                }
                else
                {
                    var consistency = await client.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = last.TreeSize, SecondSize = head.Head.TreeSize }, new CallOptions(cancellationToken: cancellationToken));
                    var finding = auditor.CheckGrowth(last.ToVerified(), head, consistency.Proof.Path.Select(p => p.ToByteArray()).ToList());
                    if (finding == AuditFinding.Verified) checks.Add($"consistent with the head you verified before ({last.TreeSize} entries)");
                    else findings.Add($"not consistent with the head you verified before ({last.TreeSize} entries): {Describe(finding)}");
                }
            }

            var newRange = checkedRange;
            if (findings.Count == 0 && result.GetValue(headOnly))
            {
                checks.Add($"head only: the entries were NOT checked (the last run checked {checkedRange.Size} of them)");
            }
            else if (findings.Count == 0)
            {
                var todo = head.Head.TreeSize - checkedRange.Size;
                var outcome = await RowProgress.RunAsync(printer, "checking entries", "checked", todo,
                    counter => WholeLogCheck.RunAsync(client, checkedRange, head, counter, cancellationToken));
                findings.AddRange(outcome.Findings);
                if (outcome.Findings.Count == 0)
                {
                    newRange = outcome.Range;
                    checks.Add(checkedRange.Size == 0
                        ? $"all {head.Head.TreeSize} entries recomputed from their bytes: fields match, root matches the signed head"
                        : checkedRange.Size == head.Head.TreeSize
                            ? $"no new entries since the {checkedRange.Size} you verified"
                            : $"{outcome.Checked} new entries ({checkedRange.Size} to {head.Head.TreeSize - 1}) recomputed from their bytes: fields match, the log extends to the signed root");
                }
            }

            if (findings.Count == 0 && filters.Request(result) is { } trace)
            {
                var entries = await TraceAsync(client, trace, cancellationToken);
                var proved = 0;
                var pending = 0;
                foreach (var entry in entries)
                {
                    if (entry.Index >= head.Head.TreeSize) { pending++; continue; }
                    var inclusion = await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = entry.Index, TreeSize = head.Head.TreeSize }, new CallOptions(cancellationToken: cancellationToken));
                    var finding = auditor.CheckEntry(head, inclusion.Entry.CanonicalBytes.Span, entry.Index, inclusion.Proof.AuditPath.Select(p => p.ToByteArray()).ToList());
                    var mismatches = Contradictions(entry).Concat(Contradictions(inclusion.Entry)).Distinct().ToList();
                    if (finding != AuditFinding.Verified)
                        findings.Add($"entry {entry.Index} ({entry.EventType}) is not proved in the signed tree: {Describe(finding)}");
                    else if (!inclusion.Entry.CanonicalBytes.Equals(entry.CanonicalBytes))
                        findings.Add($"entry {entry.Index} ({entry.EventType}): the trace and the proof show different bytes for the same entry");
                    else if (mismatches.Count > 0)
                        findings.AddRange(mismatches.Select(m => $"entry {entry.Index} ({entry.EventType}): the server's {m}"));
                    else proved++;
                }
                checks.Add($"{proved} traced entr{(proved == 1 ? "y" : "ies")} proved included, fields matching their bytes" + (pending > 0 ? $"; {pending} newer than the signed head, not yet provable" : ""));
            }

            if (admitted is not null) findings.Add(admitted);
            var intact = findings.Count == 0;
            // A damaged log leaves the saved state as it was: the next run checks against the last good head again.
            if (intact) AuditState.From(proto, newRange).Save(stateFile);
            if (printer.Json)
            {
                printer.JsonValue(new { intact, treeSize = head.Head.TreeSize, entriesChecked = newRange.Size, checks, findings });
            }
            else
            {
                foreach (var check in checks) printer.Line($"[green]✓[/] {Markup.Escape(check)}");
                foreach (var finding in findings) printer.Line($"[red]✗ {Markup.Escape(finding)}[/]");
                printer.Line(intact ? "[green bold]LOG INTACT[/]" : "[red bold]LOG NOT INTACT: do not rely on it; report this to the log operator and your supervisor.[/]");
            }
            return intact ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static async Task<List<AuditEntry>> TraceAsync(AuditService.AuditServiceClient client, TraceRequest request, CancellationToken cancellationToken)
    {
        var entries = new List<AuditEntry>();
        while (true)
        {
            using var call = client.Trace(request, new CallOptions(cancellationToken: cancellationToken));
            var page = 0;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                entries.Add(call.ResponseStream.Current.Entry);
                page++;
            }
            if (page < request.Limit) return entries;
            request.AfterIndex = entries[^1].Index;
        }
    }

    /// <summary>
    /// What the entry's own bytes say beyond its keys: for a denial the method, the reason code and what was asked for; for
    /// a change a module made for a partner, the module that relayed it. Read from the canonical bytes, not the stated fields.
    /// </summary>
    internal static string Detail(AuditEntry entry)
    {
        try
        {
            using var document = JsonDocument.Parse(entry.CanonicalBytes.Memory);
            if (!document.RootElement.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object) return "";
            string Text(string name) => payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
            var parts = new List<string>();
            if (entry.EventType == "AccessDenied")
            {
                parts.Add($"denied {Text("rpcMethod")}");
                parts.Add(Text("reasonCode") is { Length: > 0 } code ? code : Text("reason"));
                if (Text("resource") is { Length: > 0 } resource) parts.Add(resource);
            }
            if (Text("relayedBy") is { Length: > 0 } module) parts.Add($"relayed by {module}");
            return string.Join("; ", parts);
        }
        catch (JsonException)
        {
            return "";
        }
    }

    /// <summary>The stated fields of <paramref name="entry"/> its canonical bytes contradict (the Verifier library's check).</summary>
    internal static IReadOnlyList<EntryFieldMismatch> Contradictions(AuditEntry entry) => EntryFieldsCheck.Compare(Fields(entry), entry.CanonicalBytes.Span);

    /// <summary>The same in one pass over the bytes, for a whole log.</summary>
    internal static IReadOnlyList<EntryFieldMismatch> QuickContradictions(AuditEntry entry) => EntryFieldsCheck.QuickCompare(Fields(entry), entry.CanonicalBytes.Span);

    private static EntryFields Fields(AuditEntry entry) =>
        new EntryFields
        {
            EventId = entry.EventId,
            EventType = entry.EventType,
            OccurTime = entry.OccurTime?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            AppendTime = entry.AppendTime?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            ActingMemberCode = entry.ActingMemberCode,
            CorrelationId = entry.CorrelationId,
            TraceId = entry.TraceId,
            MaskedNik = entry.Keys?.MaskedNik ?? "",
            ParticipantNumber = entry.Keys?.ParticipantNumber ?? "",
            MemberCode = entry.Keys?.MemberCode ?? "",
            LoanReference = entry.Keys?.LoanReference ?? "",
            BatchId = entry.Keys?.BatchId ?? "",
        };

    private static string Describe(AuditFinding finding) => finding switch
    {
        AuditFinding.SignatureInvalid => "a tree head's signature does not verify",
        AuditFinding.LeafOutsideTree => "the entry is outside the signed tree",
        AuditFinding.InclusionProofInvalid => "the entry's bytes are not the ones the signed tree holds at that position (altered, moved or never there)",
        AuditFinding.TreeShrank => "the log has fewer entries than before",
        AuditFinding.TimestampWentBackwards => "the new head is dated before the old one",
        AuditFinding.ConsistencyProofInvalid => "the log's history was rewritten (the new tree does not extend the old one)",
        _ => finding.ToString(),
    };

    private sealed record WitnessKey(string KeyId, string PublicKeyPem);

    private static WitnessKey ReadWitnessKey(string path)
    {
        var pem = File.ReadAllText(path);
        try
        {
            using var _ = TreeHeadVerifier.FromPublicKeyPem(pem);
            return new WitnessKey(KeyId(pem), pem);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--witness-key: {path} holds no P-256 public key (PEM 'PUBLIC KEY')");
        }
    }

    internal static VerifiedTreeHead ToVerified(ProtoTreeHead head) =>
        new(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp.ToDateTimeOffset().ToUnixTimeMilliseconds()), head.RootHash.Span), head.Signature.Span);

    internal static string KeyId(string publicKeyPem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(publicKeyPem);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    internal static string DefaultStateFile(string address)
    {
        var name = string.Concat(address.Select(c => char.IsLetterOrDigit(c) ? c : '_'));
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "verification", $"audit-head-{name}.json");
    }
}
