using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Api.Audit.V1;
using Verification.Audit;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Keys;
using Verification.Audit.Features.Proofs;
using Verification.Audit.Verifier;
using Verification.Contracts.Events;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;
using Grpc.Core;
using Verification.Testing;
using Verification.Api.Channels;

// Audit log figures on PostgreSQL. Usage (tests/benchmarks/audit-log.sh starts a durable server and passes it in
// VERIFICATION_TEST_POSTGRES; without it the test fixture's fsync-off server is used):
//   dotnet run -c Release --project tests/Verification.Audit.Benchmarks -- [--size 1000000] [--append 100000] [--proofs 2000]
var size = Option("--size", 1_000_000);
var appendCount = Option("--append", 100_000);
var proofCount = Option("--proofs", 2000);
const int WarmUpCalls = 200; // per proof kind, before the clock starts
var consumers = Option("--consumers", 256); // the audit endpoint's concurrent deliveries
// "encode": entries made with the appender's own encoding, frontier and COPY; "sql": synthetic entries and every hash
// computed inside PostgreSQL (sha256), for sizes the encoder cannot reach in the time.
var fill = Array.IndexOf(args, "--fill") is var f and >= 0 && f + 1 < args.Length ? args[f + 1] : "encode";
// The CLI's verification.dll: when given, 'audit verify' downloads and checks every entry of the final log, as an auditor would.
var cli = Array.IndexOf(args, "--cli") is var c and >= 0 && c + 1 < args.Length ? args[c + 1] : null;

var server = await PostgresServer.SharedAsync();
Console.WriteLine($"PostgreSQL: {(server.IsExternal ? "external (" + PostgresServer.OverrideVariable + ")" : "test fixture, fsync off")}; {Environment.ProcessorCount} cores; load average {Load()}");
var connectionString = await server.CreateDatabaseAsync("audit_bench");
var database = new ModuleDatabase("audit", DatabaseProvider.Postgres, connectionString);
await new SchemaMigrator().ApplyModuleAsync(database, typeof(AuditDbContext).Assembly, "Verification.Audit.Data.Migrations", CancellationToken.None);
var settings = new AuditSettings { SigningKeyPath = "", NikHmacKeyPath = "", NikSealingKeyPaths = [], PublishedHeadPath = Path.Combine(Path.GetTempPath(), $"audit-bench-published-head-{Guid.NewGuid():N}.json"), AppendBatchSize = 2000, TreeHeadEntries = 1000, TreeHeadInterval = TimeSpan.FromSeconds(5) };
var signingKeyPem = NewSigningKeyPem();
using var key = new LogSigningKey(TreeHeadSigner.FromPrivateKeyPem(signingKeyPem));
// Events carry the NIK sealed, as the modules publish them: the intake's cost includes opening it.
using var sealingKey = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
using var sealer = new NikSealer(System.Security.Cryptography.ECDiffieHellman.Create(sealingKey.ExportParameters(false)));
using var opener = new NikOpener([System.Security.Cryptography.ECDiffieHellman.Create(sealingKey.ExportParameters(true))]);
var intake = new EventIntake(new NikHasher(new byte[32]), opener);
var sequence = 0L;

// 1. Append rate on a young log: consumers' inserts alone, the appender's drain alone, then both at once (after a warm-up).
await IntakeAsync(5000);
await DrainAsync(5000);
var intakeRate = await IntakeAsync(appendCount);
var drainRate = await DrainAsync(appendCount);
var steadyRate = await SteadyStateAsync(appendCount);
Console.WriteLine($"append, young log: intake {intakeRate:N0}/s ({consumers} consumers), drain {drainRate:N0}/s, both at once {steadyRate:N0}/s");

// 2. Grow the log to the target size. Bulk-written with the appender's own encoding, frontier and COPY (no pending rows).
var fillClock = Stopwatch.StartNew();
await using (var db = Context())
{
    var current = await db.Entries.LongCountAsync();
    await FillAsync(current, size);
    Console.WriteLine($"filled from {current:N0} to {size:N0} entries ({fill}) in {fillClock.Elapsed.TotalSeconds:N0} s ({(size - current) / fillClock.Elapsed.TotalSeconds:N0}/s bulk); load average {Load()}");
}


// 3. Append rate at that size: drain, and both at once.
var drainAtSize = await DrainAsync(appendCount, alreadyQueued: false);
var steadyAtSize = await SteadyStateAsync(appendCount);
Console.WriteLine($"append at {size:N0}: drain {drainAtSize:N0}/s, both at once {steadyAtSize:N0}/s");

// 4. Proof latency against the latest signed head: in process (feature + PostgreSQL), then through the wire.
long treeSize;
await using (var session = (await AppendSession.TryOpenAsync(database, settings with { TreeHeadEntries = 1 }, key, TimeProvider.System, CancellationToken.None))!)
{
    await session.SignIfDueAsync(CancellationToken.None);
    treeSize = session.LatestHead!.TreeSize;
}

var random = new Random(6962);
await using (var db = Context())
{
    var proofs = new LogProofs(db, new SignedTreeSize());
    // Warm-up: JIT tiers and prepared statements, as in a running service (other leaves than the measured ones).
    var warm = new Random(1);
    for (var i = 0; i < WarmUpCalls; i++) await proofs.InclusionAsync(warm.NextInt64(treeSize), Guid.Empty, treeSize, CancellationToken.None);
    Report("inclusion (in process)", await TimeAsync(proofCount, () => proofs.InclusionAsync(random.NextInt64(treeSize), Guid.Empty, treeSize, CancellationToken.None)));
    Report("consistency (in process)", await TimeAsync(proofCount, () => proofs.ConsistencyAsync(random.NextInt64(1, treeSize), treeSize, CancellationToken.None)));
}

// 5. The whole-log check the audit module runs at start and every hour: every entry's leaf and fields recomputed.
var integrityClock = Stopwatch.StartNew();
var integrity = await new LogIntegrityCheck(database, key, new PublishedHead(settings.PublishedHeadPath)).RunAsync(null, CancellationToken.None);
if (!integrity.Intact) throw new InvalidOperationException($"The integrity check found damage: {integrity.Problem}");
Console.WriteLine($"integrity check, in process: {integrity.EntriesChecked:N0} entries in {integrityClock.Elapsed.TotalSeconds:N1} s ({integrity.EntriesChecked / integrityClock.Elapsed.TotalSeconds:N0} entries/s); load average {Load()}");

await WireAsync(treeSize);
Console.WriteLine($"log size {treeSize:N0}; database {await DatabaseSizeAsync()}; load average {Load()}");
await server.DropDatabaseAsync(connectionString);
return 0;

async Task<double> IntakeAsync(int count)
{
    var events = Events(count);
    var clock = Stopwatch.StartNew();
    await InsertAsync(events, CancellationToken.None);
    return count / clock.Elapsed.TotalSeconds;
}

async Task<double> DrainAsync(int count, bool alreadyQueued = true)
{
    if (!alreadyQueued)
    {
        await InsertAsync(Events(count), CancellationToken.None);
    }

    await using var session = (await AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None))!;
    var start = session.Size;
    var clock = Stopwatch.StartNew();
    while (await session.AppendBatchAsync(CancellationToken.None) > 0)
    {
    }

    var appended = session.Size - start;
    if (appended != count)
    {
        throw new InvalidOperationException($"Appended {appended}, expected {count}.");
    }

    return count / clock.Elapsed.TotalSeconds;
}

async Task<double> SteadyStateAsync(int count)
{
    var events = Events(count);
    await using var session = (await AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None))!;
    var target = session.Size + count;
    var clock = Stopwatch.StartNew();
    var producing = InsertAsync(events, CancellationToken.None);
    while (session.Size < target)
    {
        if (await session.AppendBatchAsync(CancellationToken.None) == 0)
        {
            await Task.Delay(5);
        }
    }

    await producing;
    return count / clock.Elapsed.TotalSeconds;
}

List<PendingEvent> Events(int count)
{
    var events = new List<PendingEvent>(count);
    for (var i = 0; i < count; i++)
    {
        var n = Interlocked.Increment(ref sequence);
        var id = Guid.NewGuid();
        IIntegrationEvent integrationEvent = (n % 4) switch
        {
            0 => new KurBorrowerEnrolled(id, DateTimeOffset.UtcNow, $"corr-{n / 3}", "bank-bri", "kur", "Enrolled", "002", "Mikro", $"SIKP-{n:D10}", $"{10_000_000_000 + n}", sealer.Seal($"3374{n % 100_000_000:D8}0001", id), "3374••••••••0001"),
            1 => new ParticipantEnrolled(id, DateTimeOffset.UtcNow, $"corr-{n / 3}", "internal-services", "membership", $"{10_000_000_000 + n}", sealer.Seal($"3374{n % 100_000_000:D8}0001", id), "3374••••••••0001", "BPU", "kur"),
            2 => new CoverageStarted(Guid.NewGuid(), DateTimeOffset.UtcNow, $"corr-{n / 3}", "internal-services", "membership", $"{10_000_000_000 + n}", ["JKK", "JKM"], "BPU", null, DateTimeOffset.UtcNow),
            _ => new AccessDenied(Guid.NewGuid(), DateTimeOffset.UtcNow, $"corr-{n}", "bank-bni", "access", "bank-bni", "Bank", "/verification.kur.v1.KurService/EnrolBorrower", "scope", "002"),
        };
        events.Add(intake.Receive(integrationEvent, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), DateTimeOffset.UtcNow));
    }

    return events;
}

// What the bus consumers do: each delivery waits until its event is committed; the writer groups concurrent ones.
async Task InsertAsync(List<PendingEvent> events, CancellationToken cancellationToken)
{
    await using var writer = new PendingEventWriter(database, new AppendSignal());
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, consumers).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < events.Count)
        {
            await writer.QueueAsync(events[i], cancellationToken);
        }
    }));
}

async Task FillAsync(long from, long to)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    // Bulk load: the search indexes are dropped and rebuilt afterwards from the migration's own statements.
    var indexes = SearchIndexes();
    foreach (var (name, _) in indexes)
    {
        await using var drop = new NpgsqlCommand($"DROP INDEX {name}", connection);
        await drop.ExecuteNonQueryAsync();
    }

    var frontier = await CompactRange.LoadAsync(new StoredSubtreeHashes(connection), from, CancellationToken.None);
    var lastReport = Stopwatch.StartNew();
    if (fill == "sql")
    {
        await FillInDatabaseAsync(connection, from, to);
        frontier = await CompactRange.LoadAsync(new StoredSubtreeHashes(connection), to, CancellationToken.None);
    }

    while (frontier.Size < to)
    {
        var batch = (int)Math.Min(50_000, to - frontier.Size);
        var appendedAt = DateTimeOffset.UtcNow;
        var entries = new List<LogEntry>(batch);
        var nodes = new List<SubtreeHash>(batch);
        foreach (var pending in Events(batch))
        {
            var bytes = CanonicalEntry.Encode(pending, appendedAt);
            var leaf = Rfc6962.HashLeaf(bytes);
            var index = frontier.Size;
            nodes.AddRange(frontier.Append(leaf).Where(n => n.Address.Level > 0));
            entries.Add(new LogEntry
            {
                Index = index, EventId = pending.EventId, EventType = pending.EventType, OccurredAt = pending.OccurredAt, AppendedAt = CanonicalJson.TruncateToMilliseconds(appendedAt),
                ActingMember = pending.ActingMember, CorrelationId = pending.CorrelationId, TraceId = pending.TraceId, NikHmac = pending.NikHmac, MaskedNik = pending.MaskedNik,
                ParticipantNumber = pending.ParticipantNumber, MemberCode = pending.MemberCode, LoanReference = pending.LoanReference, BatchId = pending.BatchId,
                CanonicalBytes = bytes, LeafHash = leaf,
            });
        }

        await using var transaction = await connection.BeginTransactionAsync();
        await LogTables.InsertEntriesAsync(connection, transaction, entries, CancellationToken.None);
        await LogTables.InsertSubtreeHashesAsync(connection, transaction, nodes, CancellationToken.None);
        await transaction.CommitAsync();
        if (lastReport.Elapsed > TimeSpan.FromSeconds(30))
        {
            Console.WriteLine($"  … {frontier.Size:N0} entries; load average {Load()}");
            lastReport.Restart();
        }
    }

    foreach (var (_, create) in indexes)
    {
        await using var command = new NpgsqlCommand(create, connection) { CommandTimeout = 3600 };
        await command.ExecuteNonQueryAsync();
    }

    foreach (var table in new[] { "audit_entries", "audit_subtree_hashes" })
    {
        await using var vacuum = new NpgsqlCommand($"VACUUM ANALYZE {table}", connection) { CommandTimeout = 3600 };
        await vacuum.ExecuteNonQueryAsync();
    }
}

// Synthetic entries (about the size of real ones, with the search columns filled) and every hash, level by level, in SQL.
async Task FillInDatabaseAsync(NpgsqlConnection connection, long from, long to)
{
    async Task Run(string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 3600 };
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        await command.ExecuteNonQueryAsync();
    }

    var clock = Stopwatch.StartNew();
    // Each entry is a well-formed version 1 entry (RFC 8785 form, its search columns what its bytes say), so the
    // whole-log integrity check and a client's full verification accept the log and measure a complete pass.
    await Run("""
        INSERT INTO audit_entries (entry_index, event_id, event_type, occurred_at, appended_at, acting_member, correlation_id, trace_id,
                                   nik_hmac, masked_nik, participant_number, member_code, loan_reference, batch_id, canonical_bytes, leaf_hash)
        SELECT i, v.event_id, v.event_type, timestamptz '2026-12-01 00:00:00+00', timestamptz '2026-12-01 00:00:00+00', 'bank-bri',
               v.correlation_id, v.trace_id, v.nik_hmac, v.masked_nik, v.participant_number, v.member_code, v.loan_reference, NULL,
               b.bytes, sha256('\x00'::bytea || b.bytes)
        FROM generate_series(@from, @to - 1) AS i,
             LATERAL (SELECT md5('event' || i)::uuid AS event_id,
                             (ARRAY['KurBorrowerEnrolled','ParticipantEnrolled','CoverageStarted','AccessDenied'])[i % 4 + 1] AS event_type,
                             'corr-' || (i / 3) AS correlation_id, md5('trace' || i) AS trace_id,
                             CASE WHEN i % 4 < 2 THEN sha256(int8send(i)) END AS nik_hmac,
                             CASE WHEN i % 4 < 2 THEN '3374••••••••0001' END AS masked_nik,
                             CASE WHEN i % 4 < 3 THEN (10000000000 + i)::text END AS participant_number,
                             CASE WHEN i % 4 = 0 THEN '002' END AS member_code,
                             CASE WHEN i % 4 = 0 THEN 'SIKP-' || i END AS loan_reference) AS v,
             LATERAL (SELECT convert_to(
                 '{"actingMember":"bank-bri","appendedAt":"2026-12-01T00:00:00.000Z","correlationId":"' || v.correlation_id
                 || '","eventId":"' || v.event_id || '","eventType":"' || v.event_type || '","format":"verification-audit/entry/v1"'
                 || ',"keys":{"batchId":"","loanReference":"' || coalesce(v.loan_reference, '') || '","maskedNik":"' || coalesce(v.masked_nik, '')
                 || '","memberCode":"' || coalesce(v.member_code, '') || '","nikHmac":"' || coalesce(encode(v.nik_hmac, 'hex'), '')
                 || '","participantNumber":"' || coalesce(v.participant_number, '') || '"},"occurredAt":"2026-12-01T00:00:00.000Z"'
                 || ',"payload":{"note":"' || repeat('p', 240) || '","sourceModule":"kur"},"traceId":"' || v.trace_id || '"}', 'UTF8') AS bytes) AS b
        """);
    Console.WriteLine($"  … entries in {clock.Elapsed.TotalSeconds:N0} s; load average {Load()}");
    await Run("""
        INSERT INTO audit_subtree_hashes (level, node_index, hash)
        SELECT 1, r.entry_index / 2, sha256('\x01'::bytea || l.leaf_hash || r.leaf_hash)
        FROM audit_entries r JOIN audit_entries l ON l.entry_index = r.entry_index - 1
        WHERE r.entry_index % 2 = 1 AND r.entry_index + 1 > @from AND r.entry_index + 1 <= @to
        """);
    for (var level = 2; (1L << level) <= to; level++)
    {
        // Node (level, i) is new when its last leaf is: (i + 1) * 2^level in (from, to].
        await Run($"""
            INSERT INTO audit_subtree_hashes (level, node_index, hash)
            SELECT {level}, r.node_index / 2, sha256('\x01'::bytea || l.hash || r.hash)
            FROM audit_subtree_hashes r JOIN audit_subtree_hashes l ON l.level = {level - 1} AND l.node_index = r.node_index - 1
            WHERE r.level = {level - 1} AND r.node_index % 2 = 1
              AND (r.node_index + 1) * {1L << (level - 1)} > @from AND (r.node_index + 1) * {1L << (level - 1)} <= @to
            """);
    }

    Console.WriteLine($"  … subtree hashes in {clock.Elapsed.TotalSeconds:N0} s; load average {Load()}");
}

static List<(string Name, string Create)> SearchIndexes()
{
    using var stream = typeof(AuditDbContext).Assembly.GetManifestResourceStream("Verification.Audit.Data.Migrations.postgres.0001_audit_log.sql")
        ?? throw new InvalidOperationException("The PostgreSQL migration is not embedded.");
    var sql = new StreamReader(stream).ReadToEnd();
    return [.. System.Text.RegularExpressions.Regex.Matches(sql, @"CREATE (?:UNIQUE )?INDEX (\w+) ON audit_entries[^;]*;")
        .Select(m => (m.Groups[1].Value, m.Value))];
}

async Task WireAsync(long treeSize)
{
    var data = Path.Combine(Path.GetTempPath(), "verification-audit-bench-" + Guid.NewGuid().ToString("N"));
    // The host signs with the key that signed the log's heads, so its own start-up check finds them valid.
    var signingKeyFile = Path.Combine(Path.GetTempPath(), $"audit-bench-signing-{Guid.NewGuid():N}.pem");
    File.WriteAllText(signingKeyFile, signingKeyPem);
    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(signingKeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    var accessDatabase = await server.CreateDatabaseAsync("access_bench");
    var builder = WebApplication.CreateSlimBuilder([
        "--Verification:Listen:Port=0",
        $"--Verification:Database:DataDirectory={data}",
        "--Verification:Database:Provider=Postgres",
        $"--Verification:Database:ConnectionStrings:audit={connectionString}",
        $"--Verification:Database:ConnectionStrings:access={accessDatabase}",
        "--Logging:LogLevel:Default=Warning",
        $"--Verification:Audit:SigningKeyPath={signingKeyFile}",
        $"--Verification:Audit:PublishedHeadPath={settings.PublishedHeadPath}",
    ]);
    builder.AddVerificationHost([AuditModule.Module]);
    await using var app = builder.Build();
    app.MapVerificationHost([AuditModule.Module]);
    await app.StartAsync();
    var token = (await File.ReadAllTextAsync(Path.Combine(data, "dev-credentials", "auditor-bpk.token"))).Trim();
    using var channel = new VerificationChannel($"http://127.0.0.1:{new Uri(app.Urls.First()).Port}", new ChannelSettings { BearerToken = token });
    var client = new AuditService.AuditServiceClient(channel);
    var startCheck = Stopwatch.StartNew();
    GetTreeHeadResponse answer;
    while ((answer = await client.GetTreeHeadAsync(new GetTreeHeadRequest())).Integrity?.CheckTime is null) await Task.Delay(100);
    if (!answer.Integrity.Intact) throw new InvalidOperationException($"The host's start-up check found damage: {answer.Integrity.Problem}");
    Console.WriteLine($"integrity check at the host's start: {answer.Integrity.EntriesChecked:N0} entries, reported {startCheck.Elapsed.TotalSeconds:N1} s after the host began serving; load average {Load()}");
    var head = answer.TreeHead;
    if (head.TreeSize != treeSize)
    {
        throw new InvalidOperationException($"The served head has size {head.TreeSize}, expected {treeSize}.");
    }

    var rootHash = head.RootHash.ToByteArray();
    var random = new Random(9162);
    var warm = new Random(2);
    for (var i = 0; i < WarmUpCalls; i++)
    {
        await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = warm.NextInt64(treeSize), TreeSize = treeSize });
        await client.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = warm.NextInt64(1, treeSize), SecondSize = treeSize });
    }

    Report("inclusion (gRPC, verified)", await TimeAsync(proofCount, async () =>
    {
        var leaf = random.NextInt64(treeSize);
        var reply = await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = leaf, TreeSize = treeSize });
        if (!MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(reply.Entry.CanonicalBytes.Span), leaf, treeSize, [.. reply.Proof.AuditPath.Select(p => p.ToByteArray())], rootHash))
        {
            throw new InvalidOperationException($"Inclusion proof of {leaf} failed.");
        }
    }));
    Report("consistency (gRPC)", await TimeAsync(proofCount, async () =>
        await client.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = random.NextInt64(1, treeSize), SecondSize = treeSize })));
    if (cli is not null) await VerifyWithCliAsync(new Uri(app.Urls.First()).Port, token, treeSize);
    await app.StopAsync();
    File.Delete(signingKeyFile);
    await server.DropDatabaseAsync(accessDatabase);
    Directory.Delete(data, recursive: true);
}

// An auditor's first full verification: the CLI in its own process streams every entry, recomputes each leaf hash and
// its stated fields, and compares the root with the signed head.
async Task VerifyWithCliAsync(int port, string token, long treeSize)
{
    var work = Directory.CreateTempSubdirectory("audit-bench-cli-");
    var publicKeyFile = Path.Combine(work.FullName, "log.pub.pem");
    await File.WriteAllTextAsync(publicKeyFile, key.PublicKeyPem);
    var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var arg in new[] { cli!, "audit", "verify", "--address", $"http://127.0.0.1:{port}", "--public-key", publicKeyFile, "--state", Path.Combine(work.FullName, "state.json") })
        info.ArgumentList.Add(arg);
    info.Environment["VERIFICATION_TOKEN"] = token;
    info.Environment["NO_COLOR"] = "1";
    var clock = Stopwatch.StartNew();
    using var process = System.Diagnostics.Process.Start(info)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    var elapsed = clock.Elapsed.TotalSeconds;
    var output = (await stdout).Trim();
    if (process.ExitCode != 0) throw new InvalidOperationException($"audit verify exited {process.ExitCode}: {output} {await stderr}");
    Console.WriteLine($"audit verify (CLI process, every entry): {treeSize:N0} entries in {elapsed:N1} s ({treeSize / elapsed:N0} entries/s); load average {Load()}");
    Console.WriteLine("  " + output.Split('\n').LastOrDefault(l => l.Contains("INTACT", StringComparison.Ordinal)));
    work.Delete(recursive: true);
}

static string NewSigningKeyPem()
{
    using var signer = TreeHeadSigner.Generate();
    return signer.ExportPrivateKeyPem();
}

static async Task<double[]> TimeAsync(int count, Func<Task> call)
{
    var samples = new double[count];
    for (var i = 0; i < count; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await call();
        samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    Array.Sort(samples);
    return samples;
}

static void Report(string what, double[] sorted) =>
    Console.WriteLine($"{what}: p50 {sorted[sorted.Length / 2]:N2} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:N2} ms, max {sorted[^1]:N2} ms ({sorted.Length} requests)");

async Task<string> DatabaseSizeAsync()
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT pg_size_pretty(pg_database_size(current_database()))", connection);
    return (string)(await command.ExecuteScalarAsync())!;
}

AuditDbContext Context() => new(new DbContextOptionsBuilder<AuditDbContext>().UseModuleDatabase(database).Options);

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
