using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;
using Verification.Prakerja.Tests.Support;
using Xunit.Abstractions;

namespace Verification.Prakerja.Tests;

/// <summary>
/// Issue 28: a batch loaded into a database whose statistics were made before it. The planner then expects about one row
/// for the new batch key, and the duplicate marking planned as a nested loop runs its sort once per row of the batch
/// (a second batch of 1 M sat for more than five minutes). Autovacuum is off for the recipients' table here, so only the
/// module and this test analyse it: the statistics are exactly what they would be had autoanalyze not come yet.
/// </summary>
public sealed class LaterBatchPlanTests(ITestOutputHelper output)
{
    [Fact]
    public async Task LaterBatchesAreMarkedWithoutANestedLoopWhateverTheStatisticsKnowOfThem()
    {
        var settings = await PrakerjaHost.PostgresSettingsAsync();
        const string prakerjaKey = "Verification:Database:ConnectionStrings:prakerja=";
        var prakerja = settings.Single(s => s.StartsWith(prakerjaKey, StringComparison.Ordinal))[prakerjaKey.Length..];
        await using var host = await PrakerjaHost.StartAsync([.. settings, "Verification:Prakerja:ChunkSize=10000"]);
        await ExecuteAsync(prakerja, "ALTER TABLE prakerja_recipients SET (autovacuum_enabled = false)");
        var client = host.Prakerja();
        var rows = (PostgresPrakerjaStore)host.Services.GetRequiredService<PrakerjaStore>();

        // The first batch, then the analysis autoanalyze made after it in the incident: the statistics know batch 1 only.
        await CompletedAsync(client, await SubmitAsync(client, 20_000), 20_000);
        await ExecuteAsync(prakerja, "ANALYZE prakerja_recipients");

        // A large batch (AnalyseFromRows or more) is in the statistics by the time its upload is answered. The worker
        // starts on it at once; the plan is read beside it (the worker's own marking is what the assertions prevent).
        var large = await SubmitAsync(client, 200_000);
        var largeKey = await BatchKeyAsync(host, large);
        var largePlan = await rows.ExplainDuplicateMarkingAsync(largeKey, CancellationToken.None);
        output.WriteLine(largePlan);
        AssertNoNestedLoop(largePlan);
        var largeEstimate = await EstimatedRowsAsync(prakerja, largeKey);
        Assert.True(largeEstimate >= 100_000, $"The statistics expect {largeEstimate} rows of the 200,000-row batch: it was not analysed when it was loaded.");
        await CompletedAsync(client, large, 200_000);

        // A small batch is not analysed: the statistics expect one row for its key, and the marking still may not loop over it.
        var small = await SubmitAsync(client, 5_000);
        var smallKey = await BatchKeyAsync(host, small);
        var smallEstimate = await EstimatedRowsAsync(prakerja, smallKey);
        Assert.True(smallEstimate < 100, $"Premise: the statistics should not know the 5,000-row batch, yet expect {smallEstimate} rows of it.");
        var smallPlan = await rows.ExplainDuplicateMarkingAsync(smallKey, CancellationToken.None);
        output.WriteLine(smallPlan);
        AssertNoNestedLoop(smallPlan);
        await CompletedAsync(client, small, 5_000);
    }

    private static void AssertNoNestedLoop(string plan)
    {
        Assert.DoesNotContain("Nested Loop", plan, StringComparison.Ordinal);
        Assert.True(plan.Contains("Hash Join", StringComparison.Ordinal) || plan.Contains("Merge Join", StringComparison.Ordinal), $"Expected a hash or merge join:\n{plan}");
    }

    /// <summary>Submits a batch in which one row in 100 repeats the row before it; returns its id once the upload is answered.</summary>
    private static async Task<string> SubmitAsync(PrakerjaService.PrakerjaServiceClient client, int count) =>
        (await TestData.SubmitAsync(client, TestData.Header(), Recipients(count))).BatchId;

    private static async Task CompletedAsync(PrakerjaService.PrakerjaServiceClient client, string batchId, int count)
    {
        var batch = await TestData.WaitForStateAsync(client, batchId, BatchState.Completed, TimeSpan.FromMinutes(5));
        Assert.Equal(count, batch.Totals.Recipients);
        Assert.Equal(count / 100, batch.Totals.DuplicateInBatch);
    }

    private static IEnumerable<Recipient> Recipients(int count)
    {
        var previous = "";
        for (var i = 0; i < count; i++)
        {
            var nik = i % 100 == 99 ? previous : TestData.NewNik();
            previous = nik;
            yield return TestData.Recipient($"row-{i:D7}", nik);
        }
    }

    private static async Task<long> BatchKeyAsync(PrakerjaHost host, string batchId)
    {
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>();
        return await db.Batches.AsNoTracking().Where(b => b.BatchId == batchId).Select(b => b.BatchKey).SingleAsync();
    }

    /// <summary>How many rows of the batch the planner expects from the statistics it has now.</summary>
    private static async Task<double> EstimatedRowsAsync(string connectionString, long batchKey)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("EXPLAIN (FORMAT JSON) SELECT 1 FROM prakerja_recipients WHERE batch_key = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = batchKey });
        using var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!);
        return plan.RootElement[0].GetProperty("Plan").GetProperty("Plan Rows").GetDouble();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
