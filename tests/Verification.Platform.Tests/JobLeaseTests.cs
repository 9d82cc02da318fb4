using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Verification.Platform.Data;
using Verification.Platform.Leases;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

/// <summary>The job lease as two replicas of one module see it: separate holders and connections, one database.</summary>
public sealed class JobLeaseTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task OneReplicaHoldsTheLeaseAndTheOtherTakesItWithTheNextTokenOnceItRunsOut(DatabaseProvider provider)
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var database = await DatabaseAsync(provider, directory, ct);
        var (first, second) = (new JobLeases(database), new JobLeases(database));
        var (firstHolder, secondHolder) = (JobLeases.NewHolder(), JobLeases.NewHolder());

        var held = await first.TryAcquireAsync("purge", firstHolder, Long, ct);
        Assert.Equal(1, held?.Token);
        Assert.Null(await second.TryAcquireAsync("purge", secondHolder, Long, ct));
        Assert.Equal(held, await first.TryAcquireAsync("purge", firstHolder, Short, ct)); // a renewal keeps the token (and now runs out soon)
        Assert.Equal(1, (await first.TryAcquireAsync("other-job", firstHolder, Long, ct))?.Token); // jobs are leased apart

        // The first replica stops renewing (killed): once its lease runs out the second takes the job.
        JobLease? taken = null;
        await Eventually.HoldsAsync(async () => (taken = await second.TryAcquireAsync("purge", secondHolder, Long, ct)) is not null,
            TimeSpan.FromSeconds(20), "the second replica took the lease", ct);
        Assert.Equal(new JobLease("purge", secondHolder, 2), taken);
        Assert.Null(await first.TryAcquireAsync("purge", firstHolder, Short, ct));
        Assert.Equal(taken, await first.HolderAsync("purge", ct));
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task AReplicaThatLostItsLeaseCannotCommitAndItsSuccessorCan(DatabaseProvider provider)
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var database = await DatabaseAsync(provider, directory, ct);
        var leases = new JobLeases(database);
        await using (var setup = await OpenAsync(database, ct))
        await using (var transaction = await setup.BeginTransactionAsync(ct))
        {
            await ExecuteAsync(setup, transaction, "CREATE TABLE lease_work (writer text NOT NULL)", ct);
            await transaction.CommitAsync(ct);
        }

        var stale = await leases.TryAcquireAsync("append", JobLeases.NewHolder(), Short, ct);
        Assert.NotNull(stale);
        JobLease? successor = null;
        await Eventually.HoldsAsync(async () => (successor = await leases.TryAcquireAsync("append", JobLeases.NewHolder(), Long, ct)) is not null,
            TimeSpan.FromSeconds(20), "a successor took the lease", ct);

        // The stale holder's work and the fence in one transaction: the fence fails, the work rolls back.
        await using (var connection = await OpenAsync(database, ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, transaction, "INSERT INTO lease_work (writer) VALUES ('stale')", ct);
            var lost = await Assert.ThrowsAsync<LeaseLostException>(() => leases.FenceAsync(connection, transaction, stale, Long, ct));
            Assert.Equal(stale, lost.Lease);
            await transaction.RollbackAsync(ct);
        }

        await using (var connection = await OpenAsync(database, ct))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, transaction, "INSERT INTO lease_work (writer) VALUES ('successor')", ct);
            await leases.FenceAsync(connection, transaction, successor!, Long, ct);
            await transaction.CommitAsync(ct);
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT MIN(writer) || '/' || COUNT(*) FROM lease_work";
            Assert.Equal("successor/1", await count.ExecuteScalarAsync(ct));
        }
    }

    [Theory]
    [InlineData(DatabaseProvider.Postgres)]
    [InlineData(DatabaseProvider.Sqlite)]
    public async Task AReleasedLeasePassesAtOnceAndTheOldTokenNoLongerFences(DatabaseProvider provider)
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var database = await DatabaseAsync(provider, directory, ct);
        var leases = new JobLeases(database);
        var first = await leases.TryAcquireAsync("sweep", JobLeases.NewHolder(), Long, ct);
        await leases.ReleaseAsync(first!, ct);
        Assert.Null(await leases.HolderAsync("sweep", ct));

        var second = await leases.TryAcquireAsync("sweep", JobLeases.NewHolder(), Long, ct);
        Assert.Equal(2, second?.Token);
        await using var connection = await OpenAsync(database, ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await Assert.ThrowsAsync<LeaseLostException>(() => leases.FenceAsync(connection, transaction, first!, Long, ct));
    }

    [Fact]
    public async Task OfManyReplicasRacingForAFreeLeaseExactlyOneGetsIt()
    {
        var ct = Timeout;
        var database = new ModuleDatabase("race", DatabaseProvider.Postgres, await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("leases", ct));
        await new SchemaMigrator().ApplyPlatformAsync(database.Provider, database.ConnectionString, ct);

        var grants = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Task.Run(() => new JobLeases(database).TryAcquireAsync("december-update", JobLeases.NewHolder(), Long, ct), ct)));

        var winner = Assert.Single(grants, g => g is not null);
        Assert.Equal(1, winner!.Token);
    }

    private static async Task<ModuleDatabase> DatabaseAsync(DatabaseProvider provider, TemporaryDirectory directory, CancellationToken ct)
    {
        var database = provider == DatabaseProvider.Postgres
            ? new ModuleDatabase("leases", DatabaseProvider.Postgres, await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("leases", ct))
            : directory.Sqlite("leases");
        await new SchemaMigrator().ApplyPlatformAsync(database.Provider, database.ConnectionString, ct);
        return database;
    }

    private static async Task<DbConnection> OpenAsync(ModuleDatabase database, CancellationToken ct)
    {
        DbConnection connection = database.Provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(database.ConnectionString)
            : new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }
}
