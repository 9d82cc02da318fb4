using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

public sealed class SchemaMigratorTests
{
    private static readonly string[] AllScripts = ["0001_platform", "0002_job_leases", "0003_drop_processed_events", "0004_outbox_events", "0001_received_events", "0002_received_events_index", "0003_received_events_unique"];

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task PostgresMigrationsApplyOnceAndASecondRunIsANoOp()
    {
        var ct = Timeout;
        var postgres = await PostgresServer.SharedAsync();
        var database = new ModuleDatabase("consumer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("migrate", ct));

        await AssertMigratesOnceAsync(database, ct);
    }

    [Fact]
    public async Task SqliteMigrationsApplyOnceAndASecondRunIsANoOpInWalMode()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var database = directory.Sqlite("consumer");

        await AssertMigratesOnceAsync(database, ct);

        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync(ct);
        Assert.Equal("wal", await ScalarAsync<string>(connection, "PRAGMA journal_mode", ct));
    }

    [Fact]
    public async Task ConcurrentMigratorsOnPostgresApplyEachScriptExactlyOnce()
    {
        var ct = Timeout;
        var postgres = await PostgresServer.SharedAsync();
        var database = new ModuleDatabase("consumer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("race", ct));

        // Separate migrator instances and connections, as separate processes would have.
        var runs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => new SchemaMigrator()
            .ApplyModuleAsync(database, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace, ct), ct)));

        Assert.Equal(AllScripts.Order(), runs.SelectMany(r => r).Select(s => s.Name).Order());
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(ct);
        Assert.Equal((long)AllScripts.Length, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM schema_versions", ct));
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task AFailingScriptIsRolledBackAndEarlierVersionsStay(DatabaseProvider provider)
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var connectionString = provider == DatabaseProvider.Postgres
            ? await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("broken", ct)
            : directory.Sqlite("broken").ConnectionString;
        const string scope = "Verification.Platform.Tests.BrokenMigrations";

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => new SchemaMigrator()
            .ApplyAsync(typeof(SchemaMigratorTests).Assembly, scope, provider, connectionString, ct));

        Assert.Contains("0002_half_then_fails", failure.Message, StringComparison.Ordinal);
        await using DbConnection connection = provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(connectionString)
            : new SqliteConnection(connectionString);
        await connection.OpenAsync(ct);
        Assert.Equal(1L, await ScalarAsync<long>(connection, $"SELECT MAX(version) FROM schema_versions WHERE scope = '{scope}'", ct));
        var secondTableCount = provider == DatabaseProvider.Postgres
            ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'broken_second'"
            : "SELECT COUNT(*) FROM sqlite_master WHERE name = 'broken_second'";
        Assert.Equal(0L, await ScalarAsync<long>(connection, secondTableCount, ct));
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task ADatabaseFromBeforeTheDropLosesProcessedEventsAndKeepsItsOutbox(DatabaseProvider provider)
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var connectionString = provider == DatabaseProvider.Postgres
            ? await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("upgrade", ct)
            : directory.Sqlite("upgrade").ConnectionString;
        var platform = typeof(SchemaMigrator).Assembly;
        var first = SchemaMigrator.Discover(platform, SchemaMigrator.PlatformScope, provider)[0];
        Assert.Equal(1, first.Version);

        // The state every module database was in: 0001 applied, a processed event and a pending outbox row in it.
        await using (DbConnection connection = provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(connectionString)
            : new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(ct);
            using var reader = new StreamReader(platform.GetManifestResourceStream(first.ResourceName)!);
            await ExecuteAsync(connection, await reader.ReadToEndAsync(ct), ct);
            var (uuid, instant) = provider == DatabaseProvider.Postgres
                ? ($"'{Guid.NewGuid()}'::uuid", "now()")
                : ($"'{Guid.NewGuid()}'", "0");
            await ExecuteAsync(connection,
                "CREATE TABLE schema_versions (scope text NOT NULL, version integer NOT NULL, name text NOT NULL, applied_at text NOT NULL, PRIMARY KEY (scope, version));" +
                $"INSERT INTO schema_versions VALUES ('{SchemaMigrator.PlatformScope}', 1, '{first.Name}', 'then');" +
                $"INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('c', {uuid}, {instant});" +
                "INSERT INTO outbox_messages (event_id, message_type, payload, headers, created_at) " +
                $"VALUES ({uuid}, 't', '{{}}', '{{}}', {instant});", ct);
        }

        var applied = await new SchemaMigrator().ApplyPlatformAsync(provider, connectionString, ct);

        Assert.Equal(["0002_job_leases", "0003_drop_processed_events", "0004_outbox_events"], applied.Select(s => s.Name));
        await using (DbConnection connection = provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(connectionString)
            : new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(ct);
            var tables = provider == DatabaseProvider.Postgres
                ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '{0}'"
                : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{0}'";
            Assert.Equal(0L, await ScalarAsync<long>(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, tables, "processed_events"), ct));
            Assert.Equal(1L, await ScalarAsync<long>(connection, "SELECT COUNT(*) FROM outbox_messages WHERE published_at IS NULL", ct));
        }
    }

    private static async Task AssertMigratesOnceAsync(ModuleDatabase database, CancellationToken ct)
    {
        var migrator = new SchemaMigrator();
        var first = await migrator.ApplyModuleAsync(database, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace, ct);
        var second = await migrator.ApplyModuleAsync(database, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace, ct);

        Assert.Equal(AllScripts, first.Select(s => s.Name));
        Assert.Empty(second);

        // The scripts match the EF model: write and read every platform and module table through it.
        var enrolled = TestEvents.Enrolled("migrations", 1);
        await using (var db = TestData.Consumer(database))
        {
            db.AddOutboxEvent(enrolled);
            db.ReceivedEvents.Add(new ReceivedEvent { EventId = enrolled.EventId, ParticipantNumber = "1", ReceivedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(ct);
        }

        await using (var db = TestData.Consumer(database))
        {
            var row = await db.OutboxMessages.SingleAsync(m => m.EventId == enrolled.EventId && m.PublishedAt == null, ct);
            Assert.Equal(typeof(Contracts.Events.ParticipantEnrolled).FullName, row.MessageType);
            Assert.Equal(TimeSpan.Zero, row.CreatedAt.Offset);
            Assert.Equal(1, await db.ReceivedEvents.CountAsync(ct));
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> ScalarAsync<T>(DbConnection connection, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync(ct))!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
