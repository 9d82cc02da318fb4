using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Tests.Support;

namespace Verification.Prakerja.Tests;

/// <summary>Membership and Prakerja on PostgreSQL (binary COPY, array updates): fails, never skips, when PostgreSQL cannot start.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PrakerjaHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await PrakerjaHost.StartAsync([.. await PrakerjaHost.PostgresSettingsAsync()]);

    public async Task DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
    }
}

public sealed class PostgresTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>
{
    [Fact]
    public Task ABatchMixingEveryResultKindCompletesOnPostgres() => BatchTests.ABatchMixingEveryKindCompletesWithItsResultsTotalsDigestAndOneEvent(fixture.Host);

    [Fact]
    public async Task ALargerBatchIsSubmittedProcessedInChunksAndStreamedOnPostgres()
    {
        var client = fixture.Host.Prakerja();
        var wage = TestData.NewNik();
        await TestData.WageEarnerAsync(fixture.Host, wage);
        const int count = 25_000;
        var rows = Enumerable.Range(0, count).Select(i => TestData.Recipient($"r{i}", i % 1000 == 7 ? wage : TestData.NewNik())).ToList();

        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows);
        var firstPart = (await TestData.ResultsAsync(client, submitted.BatchId)).Take(10_000).ToList();
        var rest = await TestData.ResultsAsync(client, submitted.BatchId, firstPart[^1].Offset + 1);
        var all = firstPart.Concat(rest).ToList();

        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(RecipientStatus.ActiveWageEarner, all[7].Status);
        Assert.Equal(count / 1000 - 1, all.Count(r => r.Status == RecipientStatus.DuplicateInBatch));
        var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = submitted.BatchId })).Batch;
        Assert.Equal(new RecipientTotals { Recipients = count, ActiveWageEarner = 1, DuplicateInBatch = count / 1000 - 1, NotRegistered = count - count / 1000 }, batch.Totals);
    }
}
