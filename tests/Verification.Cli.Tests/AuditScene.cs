using System.Data.Common;
using System.Text;
using Grpc.Health.V1;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Spectre.Console;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Contracts.Events;
using Verification.Host;
using Verification.Platform.Hosting;
using Verification.Testing;

namespace Verification.Cli.Tests;

/// <summary>A host running the audit module alone (SQLite or PostgreSQL), denials to fill its log, the CLI against it, and an insider's tools.</summary>
public sealed class AuditScene : IAsyncDisposable
{
    private readonly List<string> _settings;
    private readonly DirectoryInfo _data;
    private WebApplication? _app;

    private AuditScene(List<string> settings, DirectoryInfo data, string? auditConnectionString)
    {
        _settings = settings;
        _data = data;
        AuditConnectionString = auditConnectionString;
    }

    public string? AuditConnectionString { get; }

    public string Address { get; private set; } = "";

    private string PublicKeyFile => Path.Combine(_data.FullName, "audit", "tree-head-signing-key.pub.pem");

    public static async Task<AuditScene> StartAsync(bool postgres)
    {
        var data = Directory.CreateTempSubdirectory("verification-tamper-");
        var settings = new List<string>
        {
            "--Verification:Services=audit",
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data.FullName}",
            "--Verification:Audit:TreeHeadEntries=1",
            "--Verification:Audit:TreeHeadInterval=00:00:00.100",
            "--Verification:Audit:PollInterval=00:00:00.050",
        };
        string? audit = null;
        if (postgres)
        {
            var server = await PostgresServer.SharedAsync();
            audit = await server.CreateDatabaseAsync("audit");
            settings.Add("--Verification:Database:Provider=Postgres");
            settings.Add($"--Verification:Database:ConnectionStrings:audit={audit}");
            settings.Add($"--Verification:Database:ConnectionStrings:access={await server.CreateDatabaseAsync("access")}");
        }

        var scene = new AuditScene(settings, data, audit);
        await scene.StartHostAsync();
        return scene;
    }

    private async Task StartHostAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(_settings.ToArray());
        builder.AddVerificationHost(ModuleCatalog.All);
        _app = builder.Build();
        _app.MapVerificationHost(ModuleCatalog.All);
        await _app.StartAsync();
        Address = $"http://127.0.0.1:{new Uri(_app.Urls.First()).Port}";
    }

    private async Task StopHostAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
    }

    private string Token(string member) => File.ReadAllText(Path.Combine(_data.FullName, "dev-credentials", member + ".token")).Trim();

    /// <summary>Appends <paramref name="count"/> denials and waits until a signed head covers them all.</summary>
    public async Task AppendAsync(int count)
    {
        using var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token("auditor-bpk") });
        var auditor = new AuditService.AuditServiceClient(channel);
        var before = (await auditor.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead.TreeSize;
        var bus = _app!.Services.GetRequiredService<IBus>();
        for (var i = 0; i < count; i++)
        {
            var now = DateTimeOffset.UtcNow;
            await bus.Publish(new AccessDenied(Guid.CreateVersion7(now), now, "tamper-" + Guid.NewGuid().ToString("N"), "bank-bri", "access",
                "bank-bri", "Bank", "/verification.kur.v1.KurService/EnrolBorrower", "bank code of another bank", $"loan L-{before + i}"));
        }

        for (var attempt = 0; attempt < 400; attempt++)
        {
            if ((await auditor.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead.TreeSize == before + count) return;
            await Task.Delay(50);
        }

        throw new TimeoutException($"no signed head of {before + count} entries");
    }

    public Task<CliRun> VerifyAsync(string state, params string[] more) => RunAsync(["audit", "verify", "--public-key", PublicKeyFile, "--state", state, .. more]);

    /// <summary>Runs the CLI in process as the auditor member against this host.</summary>
    public async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, Interactive = InteractionSupport.No });
        var exit = await CliApp.RunAsync([.. args, "--address", Address, "--token-file", Path.Combine(_data.FullName, "dev-credentials", "auditor-bpk.token")],
            console, error, _ => null, CancellationToken.None);
        return new CliRun(exit, output.ToString(), error.ToString());
    }

    public string LogPublicKeyFile => PublicKeyFile;

    /// <summary>
    /// An operator with the database, the signing key and the published-head file rewrites history: keeps the first
    /// <paramref name="keep"/> entries (altering the last kept one when asked), rebuilds every hash, signs a new head.
    /// </summary>
    public async Task ForgeAsync(int keep, bool alterLastKept)
    {
        await StopHostAsync();
        File.Delete(Path.Combine(_data.FullName, "audit", "published-head.json"));
        await using (var connection = Open())
        {
            await connection.OpenAsync();
            if (connection is not SqliteConnection) throw new NotSupportedException("Forging is written for the SQLite log.");
            await ExecuteAsync(connection, string.Concat(new[] { "audit_entries_no_update", "audit_entries_no_delete", "audit_subtree_hashes_no_update", "audit_subtree_hashes_no_delete", "audit_tree_heads_no_update", "audit_tree_heads_no_delete" }
                .Select(t => $"DROP TRIGGER IF EXISTS {t};")));
            await ExecuteAsync(connection, $"DELETE FROM audit_entries WHERE entry_index >= {keep}");
            if (alterLastKept) await UpdateBytesAsync(connection, keep - 1, alsoLeafHash: true);
            await ExecuteAsync(connection, "DELETE FROM audit_subtree_hashes; DELETE FROM audit_tree_heads;");
            var store = new Audit.Verifier.InMemorySubtreeHashStore();
            await using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT leaf_hash FROM audit_entries ORDER BY entry_index";
                var leaves = new List<byte[]>();
                await using (var reader = await read.ExecuteReaderAsync())
                    while (await reader.ReadAsync()) leaves.Add((byte[])reader[0]);
                foreach (var leaf in leaves)
                    foreach (var node in store.AppendLeafHash(leaf).Where(n => n.Address.Level > 0))
                        await ExecuteAsync(connection, $"INSERT INTO audit_subtree_hashes (level, node_index, hash) VALUES ({node.Address.Level}, {node.Address.Index}, x'{Convert.ToHexString(node.Hash)}')");
            }

            using var signer = Audit.Verifier.TreeHeadSigner.FromPrivateKeyPem(await File.ReadAllTextAsync(Path.Combine(_data.FullName, "audit", "tree-head-signing-key.pem")));
            var root = await new Audit.Verifier.MerkleLogTree(store).RootAsync(keep);
            var head = signer.Sign(new Audit.Verifier.TreeHead(keep, DateTimeOffset.UtcNow, root));
            var keyId = Audit.Verifier.Cosignature.KeyId(signer.ExportPublicKeyPem());
            await ExecuteAsync(connection, $"INSERT INTO audit_tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id) VALUES ({keep}, x'{Convert.ToHexString(root)}', {head.Head.TimestampMilliseconds}, x'{Convert.ToHexString(head.Signature)}', '{keyId}')");
        }

        await StartHostAsync();
    }

    public async Task WaitForAuditHealthAsync(HealthCheckResponse.Types.ServingStatus wanted)
    {
        using var channel = new VerificationChannel(Address, new ChannelSettings { RetryUnavailable = false });
        var health = new Health.HealthClient(channel);
        var last = HealthCheckResponse.Types.ServingStatus.Unknown;
        for (var attempt = 0; attempt < 400 && last != wanted; attempt++)
        {
            try
            {
                last = (await health.CheckAsync(new HealthCheckRequest { Service = "verification.audit.v1.AuditService" })).Status;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.NotFound)
            {
                // The module has not reported its first probe since the restart.
            }

            if (last != wanted) await Task.Delay(50);
        }

        Assert.Equal(wanted, last);
    }

    /// <summary>Stops the host, alters the stored log as an insider with the database (and only the database) could, starts it again.</summary>
    public async Task TamperAsync(AuditTamperTests.Tamper tamper, bool erasePublishedHead = false)
    {
        await StopHostAsync();
        if (erasePublishedHead) File.Delete(Path.Combine(_data.FullName, "audit", "published-head.json"));
        await using (var connection = Open())
        {
            await connection.OpenAsync();
            var postgres = connection is NpgsqlConnection;
            await ExecuteAsync(connection, postgres
                ? "ALTER TABLE audit_entries DISABLE TRIGGER USER; ALTER TABLE audit_subtree_hashes DISABLE TRIGGER USER; ALTER TABLE audit_tree_heads DISABLE TRIGGER USER;"
                : string.Concat(new[] { "audit_entries_no_update", "audit_entries_no_delete", "audit_subtree_hashes_no_update", "audit_subtree_hashes_no_delete", "audit_tree_heads_no_update", "audit_tree_heads_no_delete" }
                    .Select(t => $"DROP TRIGGER IF EXISTS {t};")));
            var target = AuditTamperTests.Verified + 5;
            switch (tamper)
            {
                case AuditTamperTests.Tamper.EditBytes:
                    await UpdateBytesAsync(connection, target, alsoLeafHash: false);
                    break;
                case AuditTamperTests.Tamper.EditBytesAndLeafHash:
                    await UpdateBytesAsync(connection, target, alsoLeafHash: true);
                    break;
                case AuditTamperTests.Tamper.EditSearchColumn:
                    await ExecuteAsync(connection, $"UPDATE audit_entries SET acting_member = 'bank-bni' WHERE entry_index = {target}");
                    break;
                case AuditTamperTests.Tamper.DeleteEntry:
                    await ExecuteAsync(connection, $"DELETE FROM audit_entries WHERE entry_index = {target}");
                    break;
                case AuditTamperTests.Tamper.SwapTwoEntries:
                    await ExecuteAsync(connection, $"UPDATE audit_entries SET entry_index = -1 WHERE entry_index = {AuditTamperTests.Verified + 2}");
                    await ExecuteAsync(connection, $"UPDATE audit_entries SET entry_index = {AuditTamperTests.Verified + 2} WHERE entry_index = {AuditTamperTests.Verified + 7}");
                    await ExecuteAsync(connection, $"UPDATE audit_entries SET entry_index = {AuditTamperTests.Verified + 7} WHERE entry_index = -1");
                    break;
                case AuditTamperTests.Tamper.TruncateTail:
                    await ExecuteAsync(connection, $"DELETE FROM audit_entries WHERE entry_index >= {AuditTamperTests.Total - 5}");
                    break;
                case AuditTamperTests.Tamper.TruncateWithHeadsAndSubtrees:
                    var keep = AuditTamperTests.Verified + 10;
                    await ExecuteAsync(connection, $"DELETE FROM audit_entries WHERE entry_index >= {keep}");
                    await ExecuteAsync(connection, $"DELETE FROM audit_tree_heads WHERE tree_size > {keep}");
                    // A subtree ending past the kept entries goes with them (node_index << level is its first leaf).
                    await ExecuteAsync(connection, postgres
                        ? $"DELETE FROM audit_subtree_hashes WHERE ((node_index + 1) << level) > {keep}"
                        : $"DELETE FROM audit_subtree_hashes WHERE ((node_index + 1) << level) > {keep}");
                    break;
                case AuditTamperTests.Tamper.AlterHeadRoot:
                    await ExecuteAsync(connection, $"UPDATE audit_tree_heads SET root_hash = {Hex(postgres, new byte[32])} WHERE tree_size = {AuditTamperTests.Total}");
                    break;
                case AuditTamperTests.Tamper.GiveHeadAnotherSignature:
                    var other = await ScalarBytesAsync(connection, $"SELECT signature FROM audit_tree_heads WHERE tree_size < {AuditTamperTests.Total} AND tree_size > 0 ORDER BY tree_size DESC LIMIT 1");
                    await ExecuteAsync(connection, $"UPDATE audit_tree_heads SET signature = {Hex(postgres, other)} WHERE tree_size = {AuditTamperTests.Total}");
                    break;
                case AuditTamperTests.Tamper.AlterLowSubtreeHash:
                    await ExecuteAsync(connection, $"UPDATE audit_subtree_hashes SET hash = {Hex(postgres, Enumerable.Repeat((byte)7, 32).ToArray())} WHERE level = 1 AND node_index = {(AuditTamperTests.Verified + 4) / 2}");
                    break;
                case AuditTamperTests.Tamper.AlterHighSubtreeHash:
                    await ExecuteAsync(connection, $"UPDATE audit_subtree_hashes SET hash = {Hex(postgres, Enumerable.Repeat((byte)9, 32).ToArray())} WHERE level = 4 AND node_index = 0");
                    break;
            }
        }

        await StartHostAsync();
    }

    private DbConnection Open() => AuditConnectionString is { } pg
        ? new NpgsqlConnection(pg)
        : new SqliteConnection($"Data Source={Path.Combine(_data.FullName, "audit.db")};Pooling=False");

    private static string Hex(bool postgres, byte[] bytes) => postgres ? $"'\\x{Convert.ToHexString(bytes)}'::bytea" : $"x'{Convert.ToHexString(bytes)}'";

    private static async Task UpdateBytesAsync(DbConnection connection, int index, bool alsoLeafHash)
    {
        var bytes = await ScalarBytesAsync(connection, $"SELECT canonical_bytes FROM audit_entries WHERE entry_index = {index}");
        var text = Encoding.UTF8.GetString(bytes);
        Assert.Contains("\"actingMember\":\"bank-bri\"", text, StringComparison.Ordinal);
        var altered = Encoding.UTF8.GetBytes(text.Replace("\"actingMember\":\"bank-bri\"", "\"actingMember\":\"bank-bni\"", StringComparison.Ordinal));
        var postgres = connection is NpgsqlConnection;
        var leaf = alsoLeafHash ? $", leaf_hash = {Hex(postgres, Audit.Verifier.Rfc6962.HashLeaf(altered))}" : "";
        await ExecuteAsync(connection, $"UPDATE audit_entries SET canonical_bytes = {Hex(postgres, altered)}, acting_member = 'bank-bni'{leaf} WHERE entry_index = {index}");
    }

    private static async Task<byte[]> ScalarBytesAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (byte[])(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        try
        {
            _data.Delete(recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans its temp folder.
        }
    }
}
