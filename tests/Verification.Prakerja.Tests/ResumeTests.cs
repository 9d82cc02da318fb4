using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Prakerja.Features.Process;
using Verification.Prakerja.Tests.Support;

namespace Verification.Prakerja.Tests;

public sealed class ResumeTests
{
    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task ProcessingStoppedMidwayResumesInTheNextProcessAtTheRecordedChunk(DatabaseProvider provider)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-prakerja-tests-" + Guid.NewGuid().ToString("N"));
        // Both processes on the same databases (PostgreSQL) or files (SQLite, under the data directory).
        var settings = await PrakerjaHost.ProviderSettingsAsync(provider);
        const int count = 30_000;
        var rows = Enumerable.Range(0, count).Select(i => TestData.Recipient($"r{i}", i % 10 == 3 ? "bad" : TestData.NewNik())).ToList();
        string batchId;
        long stoppedAt;
        // The first process gets the chunks it starts at once checked by Membership, then its registry calls hang until it is stopped.
        await using (var first = await PrakerjaHost.StartInAsync(data, [FirstChunksOnly.Module], settings))
        {
            var client = first.Prakerja();
            batchId = (await TestData.SubmitAsync(client, TestData.Header(), rows)).BatchId;
            await EventCollector.WaitForAsync(
                () => client.GetBatch(new GetBatchRequest { BatchId = batchId }).Batch.ProcessedCount == BatchProcessor.ChunksInFlight * 1000, "the first chunks processed", TimeSpan.FromSeconds(120));
        }

        try
        {
            await using var second = await PrakerjaHost.StartInAsync(data, settings);
            stoppedAt = (await second.BatchAsync(batchId)).ProcessedCount;

            var client = second.Prakerja();
            var results = await TestData.ResultsAsync(client, batchId);
            var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = batchId })).Batch;

            Assert.Equal(BatchProcessor.ChunksInFlight * 1000, stoppedAt); // the first process stopped after its first chunks, at a chunk boundary
            Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), results.Select(r => r.Offset));
            Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
            Assert.Equal(new RecipientTotals { Recipients = count, InvalidNik = count / 10, NotRegistered = count - count / 10 }, batch.Totals);
            Assert.Equal(BatchState.Completed, batch.State);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // The OS cleans the temp folder.
            }
        }
    }
}
