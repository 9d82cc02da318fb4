using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;
using Verification.Prakerja.Tests.Support;

namespace Verification.Prakerja.Tests;

/// <summary>
/// The store's promises that a crash, a second worker or a concurrent upload put to the test, on both providers: the
/// same calls the features make, with the clock passed in, so a lease runs out without waiting for it.
/// </summary>
public sealed class StoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task AChunkRecordedTwiceIsCountedOnceAndItsRowsForgetTheirNiks(DatabaseProvider provider)
    {
        await using var database = await StoreDatabase.CreateAsync(provider);
        var store = database.Store;
        var batch = await SubmittedBatchAsync(store, 10);
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(batch.BatchKey, await store.ClaimAsync("worker-a", now, now.AddMinutes(1), None));
        Assert.Equal(10, await store.CountRowsHoldingNikAsync(batch.BatchKey, None));

        var chunk = await CheckedAsync(store, batch.BatchKey, 0, 10, RecipientStatus.NotRegistered);
        Assert.Equal(ChunkRecording.Recorded, await store.RecordChunkAsync(chunk, "worker-a", now.AddMinutes(1), None));
        Assert.Equal(ChunkRecording.AlreadyRecorded, await store.RecordChunkAsync(chunk, "worker-a", now.AddMinutes(1), None));
        Assert.True(await store.AdvanceAsync(batch.BatchKey, 10, "worker-a", None));

        var report = await store.ReportAsync(batch.BatchId, None);
        Assert.NotNull(report);
        Assert.Equal((BatchLifecycle.Running, 10L), (report.Batch.State, report.Batch.ProcessedCount));
        Assert.Equal((10L, 10L), (report.Totals().Recipients, report.Totals().NotRegistered));
        Assert.Equal(0, await store.CountRowsHoldingNikAsync(batch.BatchKey, None));
        var results = await store.ReadResultsAsync(batch.BatchKey, 0, 10, [], 100, None);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => new RecipientOutcome(i, $"r{i}", RecipientStatus.NotRegistered, Api.Common.V1.InvalidNikReason.Unspecified)), results);
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task AWorkerWhoseLeaseWasTakenOverRecordsNothingAndTheNewHolderRecordsTheChunk(DatabaseProvider provider)
    {
        await using var database = await StoreDatabase.CreateAsync(provider);
        var store = database.Store;
        var batch = await SubmittedBatchAsync(store, 10);
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(batch.BatchKey, await store.ClaimAsync("worker-a", now, now.AddSeconds(1), None));
        Assert.Null(await store.ClaimAsync("worker-b", now, now.AddSeconds(30), None)); // the lease still holds
        Assert.Equal(batch.BatchKey, await store.ClaimAsync("worker-b", now.AddSeconds(2), now.AddSeconds(30), None));

        var chunk = await CheckedAsync(store, batch.BatchKey, 0, 10, RecipientStatus.Inactive);
        Assert.Equal(ChunkRecording.LeaseLost, await store.RecordChunkAsync(chunk, "worker-a", now.AddMinutes(1), None));
        Assert.False(await store.AdvanceAsync(batch.BatchKey, 10, "worker-a", None));
        Assert.Equal(10, await store.CountRowsHoldingNikAsync(batch.BatchKey, None));
        var untouched = await store.ReportAsync(batch.BatchId, None);
        Assert.Equal((0L, 0L, "worker-b"), (untouched!.Totals().Recipients, untouched.Batch.ProcessedCount, untouched.Batch.LeaseOwner));

        // The lost worker's marker went with its transaction: the chunk is still to be recorded, once.
        Assert.Equal(ChunkRecording.Recorded, await store.RecordChunkAsync(chunk, "worker-b", now.AddMinutes(1), None));
        Assert.True(await store.AdvanceAsync(batch.BatchKey, 10, "worker-b", None));
        var recorded = await store.ReportAsync(batch.BatchId, None);
        Assert.Equal((10L, 10L, 10L), (recorded!.Totals().Recipients, recorded.Totals().Inactive, recorded.Batch.ProcessedCount));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task TheThirdFailedAttemptMakesTheBatchFailedAndKeepsItsRows(DatabaseProvider provider)
    {
        await using var database = await StoreDatabase.CreateAsync(provider);
        var store = database.Store;
        var batch = await SubmittedBatchAsync(store, 5);
        var at = DateTimeOffset.UtcNow;
        var expire = at.AddDays(30);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(batch.BatchKey, await store.ClaimAsync("worker-a", at, at.AddSeconds(30), None));
            var failed = await store.RecordFailedAttemptAsync(batch.BatchKey, "worker-a", at.AddSeconds(5), 3, expire, None);
            Assert.Equal(new FailedAttempt(batch.BatchId, attempt, GaveUp: attempt == 3), failed);
            // The lease was given up: nobody holds the batch until the retry time has passed.
            Assert.Null(await store.RecordFailedAttemptAsync(batch.BatchKey, "worker-a", at.AddSeconds(5), 3, expire, None));
            Assert.Null(await store.ClaimAsync("worker-b", at.AddSeconds(4), at.AddSeconds(30), None));
            at = at.AddSeconds(6);
        }

        var report = await store.ReportAsync(batch.BatchId, None);
        Assert.Equal((BatchLifecycle.Failed, 3, (string?)null, (DateTimeOffset?)null),
            (report!.Batch.State, report.Batch.FailedAttempts, report.Batch.LeaseOwner, report.Batch.CompleteTime));
        Assert.Equal(expire.ToUnixTimeMilliseconds(), report.Batch.ExpireTime!.Value.ToUnixTimeMilliseconds());
        Assert.Null(await store.ClaimAsync("worker-b", at.AddMinutes(10), at.AddMinutes(11), None)); // a FAILED batch is not processed again
        Assert.Equal(5, await store.CountRowsAsync(batch.BatchKey, None));
    }

    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task AnUploadThatLosesItsIdempotencyKeyToAnotherCommitsNothingAndIsDiscardedWhole(DatabaseProvider provider)
    {
        await using var database = await StoreDatabase.CreateAsync(provider);
        var store = database.Store;
        var winner = await SubmittedBatchAsync(store, 4, key: "key-1");
        var loser = await UploadingBatchAsync(store, 3);

        Assert.False(await store.CommitUploadAsync(loser.BatchKey, Totals(3, "key-1"), None));
        Assert.Null(await store.FindSubmittedAsync(loser.BatchId, None));
        Assert.Equal(winner.BatchId, (await store.FindByIdempotencyKeyAsync("prakerja-pmo", "key-1", None))!.BatchId);
        var silent = await store.AbandonedUploadsAsync(DateTimeOffset.UtcNow.AddHours(1), None);
        Assert.Contains(loser.BatchKey, silent);
        Assert.DoesNotContain(winner.BatchKey, silent);

        await store.DiscardUploadAsync(loser.BatchKey, None);
        Assert.Equal(0, await store.CountRowsAsync(loser.BatchKey, None));
        Assert.DoesNotContain(loser.BatchKey, await store.AbandonedUploadsAsync(DateTimeOffset.UtcNow.AddHours(1), None));
        Assert.Equal(4, await store.CountRowsAsync(winner.BatchKey, None));
        Assert.Equal(4L, (await store.ReportAsync(winner.BatchId, None))!.Batch.RecipientCount);
    }

    /// <summary>An upload in progress with <paramref name="rows"/> rows of valid, distinct NIKs, all in cohort 0.</summary>
    private static async Task<CrossCheckBatch> UploadingBatchAsync(PrakerjaStore store, int rows)
    {
        var now = DateTimeOffset.UtcNow;
        var batch = new CrossCheckBatch
        {
            BatchId = Guid.NewGuid().ToString("N"), Label = "store", HeaderCohort = "gelombang-45", SubmitMemberCode = "prakerja-pmo",
            CorrelationId = "test", State = BatchLifecycle.Uploading, SubmitTime = now, UploadTouchTime = now,
        };
        await store.StartUploadAsync(batch, None);
        var buffer = new RecipientRowBuffer(rows);
        for (var i = 0; i < rows; i++) buffer.Add(i, $"r{i}", 0, RecipientVerdict.Read(TestData.NewNik()).Nik, 0, 0);
        await store.InsertRowsAsync(batch.BatchKey, buffer, None);
        return batch;
    }

    private static async Task<CrossCheckBatch> SubmittedBatchAsync(PrakerjaStore store, int rows, string? key = null)
    {
        var batch = await UploadingBatchAsync(store, rows);
        Assert.True(await store.CommitUploadAsync(batch.BatchKey, Totals(rows, key), None));
        return batch;
    }

    private static UploadTotals Totals(int rows, string? key) =>
        new(new byte[32], rows, false, key, new Dictionary<string, int> { ["gelombang-45"] = 0 });

    /// <summary>Rows [start, end) read back as the worker reads them, every one answered <paramref name="status"/>.</summary>
    private static async Task<CheckedChunk> CheckedAsync(PrakerjaStore store, long batchKey, long start, long end, RecipientStatus status)
    {
        var buffer = new RecipientRowBuffer((int)(end - start));
        await store.ReadChunkAsync(batchKey, start, end, buffer, None);
        Assert.Equal(end - start, buffer.Count);
        var counts = new RecipientCounts();
        for (var i = 0; i < buffer.Count; i++) counts.Add(status);
        return new CheckedChunk(batchKey, start, end, buffer.Offsets[..buffer.Count], [.. Enumerable.Repeat((short)status, buffer.Count)],
            new short[buffer.Count], new Dictionary<int, RecipientCounts> { [0] = counts });
    }
}
