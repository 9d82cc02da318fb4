using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;

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
public sealed class BatchResults(PrakerjaStore store, BatchSignals signals, PrakerjaSettings settings)
{
    /// <summary>Results per page sent.</summary>
    public const int PageSize = 2_000;

    /// <summary>A submitted batch with its totals; null when no batch has this id.</summary>
    public Task<BatchReport?> GetAsync(string batchId, CancellationToken cancellationToken) => store.ReportAsync(batchId, cancellationToken);

    /// <summary>
    /// Sends results from <paramref name="fromOffset"/> (optionally only <paramref name="filter"/>'s statuses) through
    /// <paramref name="send"/>, a page at a time as they are recorded, until the batch is COMPLETED and all were sent.
    /// </summary>
    public async Task<ResultStreamEnd> StreamAsync(
        string batchId, long fromOffset, IReadOnlyCollection<RecipientStatus> filter, Func<IReadOnlyList<RecipientOutcome>, Task> send, CancellationToken cancellationToken)
    {
        var cursor = fromOffset;
        if (await store.FindSubmittedAsync(batchId, cancellationToken) is not { } found) return ResultStreamEnd.NotFound;
        while (true)
        {
            // Taken before reading the progress, so a chunk recorded in between still wakes this stream.
            var progressed = signals.NextProgress(found.BatchKey);
            var batch = await store.FindSubmittedAsync(batchId, cancellationToken);
            if (batch is null) return ResultStreamEnd.NotFound;
            if (batch.State == BatchLifecycle.Expired) return ResultStreamEnd.Expired;

            var known = batch.ProcessedCount;
            while (cursor < known)
            {
                var page = await store.ReadResultsAsync(batch.BatchKey, cursor, known, filter, PageSize, cancellationToken);
                if (page.Count == 0)
                {
                    cursor = known; // nothing matches the filter below what is known
                    break;
                }

                await send(page);
                cursor = page[^1].Offset + 1;
            }

            if (batch.State == BatchLifecycle.Completed && cursor >= batch.RecipientCount) return ResultStreamEnd.Completed;
            if (batch.State == BatchLifecycle.Failed) return ResultStreamEnd.Failed;
            await Task.WhenAny(progressed, Task.Delay(settings.PollInterval, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
