using Microsoft.EntityFrameworkCore;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;

namespace Verification.Prakerja.Features.Results;

/// <summary>What StreamBatchResults can do for a batch right now.</summary>
public enum ResultStreamEnd
{
    /// <summary>Every result from the offset asked for was sent and the batch is COMPLETED.</summary>
    Completed,
    NotFound,
    Expired,

    /// <summary>The batch FAILED: the results it has were sent.</summary>
    Failed,
}

/// <summary>Reads batches and streams their results in offset order, waiting for the worker while a batch runs.</summary>
public sealed class BatchResults(PrakerjaDbContext db, RecipientRows rows, BatchSignals signals, PrakerjaSettings settings)
{
    /// <summary>Results per streamed message.</summary>
    public const int PageSize = 2_000;

    public async Task<Batch?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        var batch = await FindAsync(batchId, cancellationToken);
        if (batch is null) return null;
        var cohorts = await db.Cohorts.AsNoTracking().Where(c => c.BatchKey == batch.BatchKey).ToListAsync(cancellationToken);
        return BatchView.ToApi(batch, cohorts);
    }

    /// <summary>
    /// Sends results from <paramref name="fromOffset"/> (optionally only <paramref name="filter"/>'s statuses) through
    /// <paramref name="send"/> as they are recorded, until the batch is COMPLETED and all were sent.
    /// </summary>
    public async Task<ResultStreamEnd> StreamAsync(
        string batchId, long fromOffset, IReadOnlyCollection<RecipientStatus> filter, Func<StreamBatchResultsResponse, Task> send, CancellationToken cancellationToken)
    {
        var cursor = fromOffset;
        if (await FindAsync(batchId, cancellationToken) is not { } found) return ResultStreamEnd.NotFound;
        while (true)
        {
            // Taken before reading the progress, so a chunk recorded in between still wakes this stream.
            var progressed = signals.NextProgress(found.BatchKey);
            var batch = await FindAsync(batchId, cancellationToken);
            if (batch is null) return ResultStreamEnd.NotFound;
            if (batch.State == BatchLifecycle.Expired) return ResultStreamEnd.Expired;

            var known = batch.ProcessedCount;
            while (cursor < known)
            {
                var page = await rows.ReadResultsAsync(batch.BatchKey, cursor, known, filter, PageSize, cancellationToken);
                if (page.Count == 0)
                {
                    cursor = known; // nothing matches the filter below what is known
                    break;
                }

                var message = new StreamBatchResultsResponse();
                message.Results.AddRange(page);
                await send(message);
                cursor = page[^1].Offset + 1;
            }

            if (batch.State == BatchLifecycle.Completed && cursor >= batch.RecipientCount) return ResultStreamEnd.Completed;
            if (batch.State == BatchLifecycle.Failed) return ResultStreamEnd.Failed;
            await Task.WhenAny(progressed, Task.Delay(settings.PollInterval, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<CrossCheckBatch?> FindAsync(string batchId, CancellationToken cancellationToken) =>
        await db.Batches.AsNoTracking()
            .SingleOrDefaultAsync(b => b.BatchId == batchId && b.State != BatchLifecycle.Uploading, cancellationToken);
}
