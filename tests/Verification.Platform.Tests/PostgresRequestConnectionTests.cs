using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Platform.Data;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

public sealed class PostgresRequestConnectionTests
{
    [Fact]
    public void RequestConnectionsPrepareStatementsPlanEveryExecutionAndSkipTheReset()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresRequestConnections.For("Host=db;Database=kur;Username=kur"));

        Assert.Equal((64, 2, true), (tuned.MaxAutoPrepare, tuned.AutoPrepareMinUsages, tuned.NoResetOnClose));
        Assert.Equal("-c plan_cache_mode=force_custom_plan", tuned.Options);
        Assert.Equal(("db", "kur", "kur"), (tuned.Host, tuned.Database, tuned.Username));
    }

    [Fact]
    public void KeyedStatementConnectionsPlanEachStatementOnceAndNeverScanTheTable()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresRequestConnections.ForKeyedStatements("Host=db;Database=kur;Username=kur"));

        Assert.Equal((64, 2, true), (tuned.MaxAutoPrepare, tuned.AutoPrepareMinUsages, tuned.NoResetOnClose));
        Assert.Equal("-c plan_cache_mode=force_generic_plan -c enable_seqscan=off", tuned.Options);
    }

    [Fact]
    public void KeyedStatementConnectionsKeepTheOperatorsPlanCacheModeButNeverScanTheTable()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresRequestConnections.ForKeyedStatements(
            "Host=db;Database=kur;Options=-c plan_cache_mode=auto -c work_mem=8MB"));

        Assert.Equal("-c plan_cache_mode=auto -c work_mem=8MB -c enable_seqscan=off", tuned.Options);
    }

    [Fact]
    public void WhatTheOperatorSetIsKept()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresRequestConnections.For(
            "Host=db;Database=kur;Max Auto Prepare=8;Auto Prepare Min Usages=5;Options=-c plan_cache_mode=auto -c work_mem=8MB"));

        Assert.Equal((8, 5), (tuned.MaxAutoPrepare, tuned.AutoPrepareMinUsages));
        Assert.Equal("-c plan_cache_mode=auto -c work_mem=8MB", tuned.Options);
    }

    [Fact]
    public async Task AModuleContextOnPostgresPlansWithTheActualParametersOnEveryExecution()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
        var postgres = await PostgresServer.SharedAsync();
        var database = new ModuleDatabase("producer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("requests", ct));
        await using var db = new ProducerDbContext(new DbContextOptionsBuilder<ProducerDbContext>().UseModuleDatabase(database).Options);

        var mode = await db.Database.SqlQueryRaw<string>("SELECT current_setting('plan_cache_mode') AS \"Value\"").SingleAsync(ct);

        Assert.Equal("force_custom_plan", mode);
    }
}
