using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Audit.Features.Keys;
using Verification.Audit.Features.Proofs;
using Verification.Audit.Verifier;
using Verification.Platform.Data;
using Verification.Platform.Leases;
using Verification.Testing;

namespace Verification.Audit.Tests.Module;

/// <summary>Two replicas' appenders on one PostgreSQL log: one writer by lease, fenced, and the other taking over.</summary>
public sealed class WriterFailoverTests
{
    private const string Migrations = "Verification.Audit.Data.Migrations";
    private const int Events = 300;

    [Fact]
    public async Task AWriterKilledMidAppendCommitsNothingAndTheStandbyContinuesTheLogWithEveryProofHolding()
    {
        await using var log = await SharedLog.CreateAsync();
        var first = await AppendSession.TryOpenAsync(log.Database, "replica-a", log.Replica("a"), log.Key, TimeProvider.System, CancellationToken.None);
        Assert.NotNull(first);
        Assert.Null(await AppendSession.TryOpenAsync(log.Database, "replica-b", log.Replica("b"), log.Key, TimeProvider.System, CancellationToken.None));
        Assert.Equal(64, await first.AppendBatchAsync(CancellationToken.None));

        // The next append stalls inside its transaction (after the fence and the entries' COPY has begun); then its backend is killed.
        await log.ExecuteAsync(
            "CREATE TABLE test_stall_switch (armed boolean); INSERT INTO test_stall_switch VALUES (true);" +
            "CREATE FUNCTION test_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM test_stall_switch) THEN PERFORM pg_sleep(600); END IF; RETURN NULL; END $$;" +
            "CREATE TRIGGER test_stall BEFORE INSERT ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION test_stall();");
        var stalled = first.AppendBatchAsync(CancellationToken.None);
        await log.WaitAsync("SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'", "the writer stalled mid-append");
        await log.ExecuteAsync("DELETE FROM test_stall_switch; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'");
        await Assert.ThrowsAnyAsync<Exception>(() => stalled);
        await first.DisposeAsync(); // what is left of the killed writer: the lease release may or may not reach the database
        Assert.Equal(64L, await log.ScalarAsync<long>("SELECT count(*) FROM audit_entries"));

        // The standby takes the lease (at once if released, else when it runs out) with the next token and continues.
        AppendSession? second = null;
        await log.WaitUntilAsync(async () => (second = await AppendSession.TryOpenAsync(log.Database, "replica-b", log.Replica("b"), log.Key, TimeProvider.System, CancellationToken.None)) is not null,
            "the standby took the writer lease");
        await using (second)
        {
            Assert.Equal(2, second!.Lease.Token);
            Assert.Equal(64, second.Size);
            while (await second.AppendBatchAsync(CancellationToken.None) > 0)
            {
            }

            Assert.Equal(Events, second.Size);
        }

        await log.AssertConsistentAsync();
    }

    [Fact]
    public async Task AWriterThatLostItsLeaseCannotCommitAnAppendOrAHead()
    {
        await using var log = await SharedLog.CreateAsync();
        await using var paused = await AppendSession.TryOpenAsync(log.Database, "replica-a", log.Replica("a"), log.Key, TimeProvider.System, CancellationToken.None);
        Assert.NotNull(paused);
        Assert.Equal(64, await paused.AppendBatchAsync(CancellationToken.None));

        // The writer pauses past its lease (it renews only when it appends): its expiry is moved to now, as if the time had passed.
        await log.ExecuteAsync($"UPDATE job_leases SET expires_at = clock_timestamp() WHERE job = '{AppendSession.WriterJob}'");
        AppendSession? successor = null;
        await log.WaitUntilAsync(async () => (successor = await AppendSession.TryOpenAsync(log.Database, "replica-b", log.Replica("b"), log.Key, TimeProvider.System, CancellationToken.None)) is not null,
            "the standby took the writer lease");
        await using (successor)
        {
            Assert.Equal(64, await successor!.AppendBatchAsync(CancellationToken.None));

            // Resumed, the old writer still believes it appends at 64: its commit is refused and the log is untouched.
            var lost = await Assert.ThrowsAsync<LeaseLostException>(() => paused.AppendBatchAsync(CancellationToken.None));
            Assert.Equal(new JobLease(AppendSession.WriterJob, "replica-a", 1), lost.Lease);
            Assert.Equal(128L, await log.ScalarAsync<long>("SELECT count(*) FROM audit_entries"));
            Assert.Equal(128L, await log.ScalarAsync<long>("SELECT max(entry_index) + 1 FROM audit_entries"));

            while (await successor.AppendBatchAsync(CancellationToken.None) > 0)
            {
            }
        }

        await log.AssertConsistentAsync();
    }

    /// <summary>One audit database with queued events, and what each replica of the module would have of its own.</summary>
    private sealed class SharedLog : IAsyncDisposable
    {
        private readonly PostgresServer _server;
        private readonly List<PendingEvent> _events;

        private SharedLog(PostgresServer server, ModuleDatabase database, LogSigningKey key, List<PendingEvent> events)
        {
            _server = server;
            Database = database;
            Key = key;
            _events = events;
        }

        public ModuleDatabase Database { get; }

        public LogSigningKey Key { get; }

        public static async Task<SharedLog> CreateAsync()
        {
            var server = await PostgresServer.SharedAsync();
            var database = new ModuleDatabase("audit", DatabaseProvider.Postgres, await server.CreateDatabaseAsync("audit_failover"));
            await new SchemaMigrator().ApplyModuleAsync(database, typeof(AuditDbContext).Assembly, Migrations, CancellationToken.None);
            var intake = new EventIntake(new NikHasher(new byte[32]), SampleEvents.Opener());
            var events = Enumerable.Range(0, Events).Select(i => intake.Receive(SampleEvents.Denial($"failover-{i}"), "", DateTimeOffset.UtcNow)).ToList();
            await using (var writer = new PendingEventWriter(database, new AppendSignal()))
            {
                foreach (var pending in events)
                {
                    await writer.QueueAsync(pending, CancellationToken.None);
                }
            }

            return new SharedLog(server, database, new LogSigningKey(TreeHeadSigner.Generate()), events);
        }

        /// <summary>A replica's settings: its own published-head file, a short writer lease, a head every 50 entries.</summary>
        public AuditSettings Replica(string name) => new()
        {
            SigningKeyPath = "",
            NikHmacKeyPath = "",
            NikSealingKeyPaths = [],
            PublishedHeadPath = Path.Combine(Path.GetTempPath(), $"published-head-{name}-{Guid.NewGuid():N}.json"),
            TreeHeadEntries = 50,
            TreeHeadInterval = TimeSpan.FromHours(1),
            AppendBatchSize = 64,
            // Long enough that no pause of a loaded machine ends it: the tests end leases on purpose.
            WriterLease = TimeSpan.FromSeconds(30),
        };

        public async Task ExecuteAsync(string sql)
        {
            await using var connection = new NpgsqlConnection(Database.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }

        public async Task<T> ScalarAsync<T>(string sql)
        {
            await using var connection = new NpgsqlConnection(Database.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            return (T)(await command.ExecuteScalarAsync())!;
        }

        public Task WaitAsync(string condition, string what) => WaitUntilAsync(async () => await ScalarAsync<bool>(condition), what);

        public async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (!await condition())
            {
                if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting until {what}.");
                await Task.Delay(50);
            }
        }

        /// <summary>Every event once, at consecutive indexes; every head signed and a consistent extension of the one before; inclusion proofs against the last.</summary>
        public async Task AssertConsistentAsync()
        {
            var options = new DbContextOptionsBuilder<AuditDbContext>().UseModuleDatabase(Database).Options;
            await using var db = new AuditDbContext(options);
            var entries = await db.Entries.OrderBy(e => e.Index).ToListAsync();
            Assert.Equal(Enumerable.Range(0, Events).Select(i => (long)i), entries.Select(e => e.Index));
            Assert.Equal(_events.Select(e => e.EventId).Order(), entries.Select(e => e.EventId).Order());
            Assert.Equal(0, await db.PendingEvents.CountAsync());

            using var verifier = TreeHeadVerifier.FromPublicKeyPem(Key.PublicKeyPem);
            var heads = await db.TreeHeads.OrderBy(h => h.TreeSize).ToListAsync();
            Assert.True(heads.Count >= 5, $"only {heads.Count} heads were signed");
            var proofs = new LogProofs(db, new SignedTreeSize());
            for (var i = 0; i < heads.Count; i++)
            {
                var head = heads[i];
                Assert.True(verifier.Verify(new Verifier.SignedTreeHead(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.TimestampMilliseconds), head.RootHash), head.Signature)));
                if (i > 0)
                {
                    var previous = heads[i - 1];
                    var growth = await proofs.ConsistencyAsync(previous.TreeSize, head.TreeSize, CancellationToken.None);
                    Assert.True(MerkleVerifier.VerifyConsistency(previous.TreeSize, head.TreeSize, previous.RootHash, head.RootHash, growth.Path));
                }
            }

            var last = heads[^1];
            foreach (var leaf in new long[] { 0, 63, 64, 127, 128, last.TreeSize - 1 })
            {
                var answer = await proofs.InclusionAsync(leaf, Guid.Empty, last.TreeSize, CancellationToken.None);
                Assert.True(MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(answer.Entry!.CanonicalBytes), leaf, last.TreeSize, answer.AuditPath, last.RootHash));
            }
        }

        public async ValueTask DisposeAsync()
        {
            Key.Dispose();
            await _server.DropDatabaseAsync(Database.ConnectionString);
        }
    }
}
