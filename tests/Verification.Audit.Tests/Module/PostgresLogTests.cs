using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Audit.Features.Keys;
using Verification.Audit.Features.Proofs;
using Verification.Audit.Verifier;
using Verification.Platform.Data;
using Verification.Testing;

namespace Verification.Audit.Tests.Module;

/// <summary>The append path on a real PostgreSQL: the advisory lock, duplicate delivery, COPY, proofs from stored hashes.</summary>
public sealed class PostgresLogTests
{
    private const string Migrations = "Verification.Audit.Data.Migrations";

    [Fact]
    public async Task OneProcessAppendsDuplicatesMakeOneEntryAndTheStoredTreeProvesEveryHead()
    {
        var server = await PostgresServer.SharedAsync();
        var connectionString = await server.CreateDatabaseAsync("audit");
        try
        {
            var database = new ModuleDatabase("audit", DatabaseProvider.Postgres, connectionString);
            await new SchemaMigrator().ApplyModuleAsync(database, typeof(AuditDbContext).Assembly, Migrations, CancellationToken.None);
            var settings = new AuditSettings { SigningKeyPath = "", NikHmacKeyPath = "", NikSealingKeyPaths = [], PublishedHeadPath = Path.Combine(Path.GetTempPath(), $"published-head-{Guid.NewGuid():N}.json"), TreeHeadEntries = 100, TreeHeadInterval = TimeSpan.FromHours(1), AppendBatchSize = 64 };
            using var key = new LogSigningKey(TreeHeadSigner.Generate());
            using var verifier = TreeHeadVerifier.FromPublicKeyPem(key.PublicKeyPem);
            var intake = new EventIntake(new NikHasher(new byte[32]), SampleEvents.Opener());

            // 300 events, each delivered twice by concurrent consumers, grouped into a few commits by the writer.
            var events = Enumerable.Range(0, 300).Select(i => intake.Receive(SampleEvents.Denial($"pg-{i}"), "", DateTimeOffset.UtcNow)).ToList();
            await using (var writer = new PendingEventWriter(database, new AppendSignal()))
            {
                await Task.WhenAll(events.Concat(events).Select(e => Task.Run(() => writer.QueueAsync(e, CancellationToken.None))));
            }

            await using var appender = await AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None);
            Assert.NotNull(appender);
            Assert.Equal(0, appender.LatestHead!.TreeSize); // the first head is signed at once, over the empty log
            Assert.Null(await AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None)); // a second process stands by

            while (await appender.AppendBatchAsync(CancellationToken.None) > 0)
            {
            }

            Assert.Equal(300, appender.Size);

            // A redelivery after its event was appended is dropped by both the consumer's insert and the appender.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                Assert.Equal(0, await LogTables.InsertPendingAsync(connection, null, [events[0], events[1]], CancellationToken.None));
                await using var sneak = connection.CreateCommand();
                sneak.CommandText = "INSERT INTO audit_pending_events (event_id, event_type, occurred_at, acting_member, correlation_id, trace_id, payload, received_at) " +
                    "SELECT event_id, event_type, occurred_at, acting_member, correlation_id, trace_id, '\\x7b7d'::bytea, now() FROM audit_entries WHERE entry_index < 5";
                Assert.Equal(5, await sneak.ExecuteNonQueryAsync());
            }

            Assert.Equal(5, await appender.AppendBatchAsync(CancellationToken.None));
            Assert.Equal(300, appender.Size);

            var options = new DbContextOptionsBuilder<AuditDbContext>().UseModuleDatabase(database).Options;
            await using var db = new AuditDbContext(options);
            var entries = await db.Entries.OrderBy(e => e.Index).ToListAsync();
            Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), entries.Select(e => e.Index));
            Assert.Equal(events.Select(e => e.EventId).Order(), entries.Select(e => e.EventId).Order());
            Assert.Equal(0, await db.PendingEvents.CountAsync());

            // Every stored head is signed, and its root is the RFC 6962 root of the entries' canonical bytes.
            var reference = new InMemorySubtreeHashStore();
            foreach (var entry in entries)
            {
                reference.Append(entry.CanonicalBytes);
            }

            var heads = await db.TreeHeads.OrderBy(h => h.TreeSize).ToListAsync();
            Assert.Equal([0L, 128, 256], heads.Select(h => h.TreeSize));
            var proofs = new LogProofs(db, new SignedTreeSize());
            foreach (var head in heads)
            {
                var signed = new Verifier.SignedTreeHead(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.TimestampMilliseconds), head.RootHash), head.Signature);
                Assert.True(verifier.Verify(signed));
                Assert.Equal(await new MerkleLogTree(reference).RootAsync(head.TreeSize), head.RootHash);
                foreach (var leaf in new long[] { 0, head.TreeSize / 3, head.TreeSize - 1 }.Where(l => l >= 0 && l < head.TreeSize))
                {
                    var answer = await proofs.InclusionAsync(leaf, Guid.Empty, head.TreeSize, CancellationToken.None);
                    Assert.True(MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(answer.Entry!.CanonicalBytes), leaf, head.TreeSize, answer.AuditPath, head.RootHash));
                }

                var growth = await proofs.ConsistencyAsync(head.TreeSize, heads[^1].TreeSize, CancellationToken.None);
                Assert.True(MerkleVerifier.VerifyConsistency(head.TreeSize, heads[^1].TreeSize, head.RootHash, heads[^1].RootHash, growth.Path));
            }

            // The whole-log check on PostgreSQL, with entries beyond the newest head: it reads further heads while the
            // entries stream (it once did so on the streaming connection, which PostgreSQL refuses).
            var report = await new Features.Integrity.LogIntegrityCheck(database, key, new Features.Integrity.PublishedHead(settings.PublishedHeadPath)).RunAsync(null, CancellationToken.None);
            Assert.True(report.Intact, report.Problem);
            Assert.Equal(300, report.EntriesChecked);

            // The log refuses updates, and the lock passes on when the appender's connection closes.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var update = connection.CreateCommand();
                update.CommandText = "UPDATE audit_entries SET event_type = 'x' WHERE entry_index = 0";
                await Assert.ThrowsAsync<PostgresException>(() => update.ExecuteNonQueryAsync());
            }

            await appender.DisposeAsync();
            await using (var successor = await AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None))
            {
                Assert.NotNull(successor);
                Assert.Equal(300, successor.Size);
                Assert.Equal(256, successor.LatestHead!.TreeSize);
            }

            // A stored hash that no longer matches the signed head stops the appender from building on it.
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var tamper = connection.CreateCommand();
                tamper.CommandText = "ALTER TABLE audit_subtree_hashes DISABLE TRIGGER USER; UPDATE audit_subtree_hashes SET hash = sha256(hash) WHERE level = 8 AND node_index = 0";
                await tamper.ExecuteNonQueryAsync();
            }

            await Assert.ThrowsAsync<LogIntegrityException>(() => AppendSession.TryOpenAsync(database, settings, key, TimeProvider.System, CancellationToken.None));
        }
        finally
        {
            await server.DropDatabaseAsync(connectionString);
        }
    }
}
