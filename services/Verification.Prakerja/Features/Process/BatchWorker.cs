using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verification.Platform.Leases;
using Verification.Prakerja.Data;

namespace Verification.Prakerja.Features.Process;

/// <summary>
/// The background side of batches: takes PENDING and RUNNING batches (a lease per batch, so replicas and a restarted
/// process share the work and a crashed worker's batch is resumed), purges results past their retention, and removes
/// uploads abandoned by a crash before their half-close (one replica at a time, under the <see cref="SweepJob"/> lease).
/// </summary>
public sealed partial class BatchWorker(
    PrakerjaStore store,
    JobLeases leases,
    BatchProcessor processor,
    BatchSignals signals,
    PrakerjaSettings settings,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<BatchWorker> logger) : BackgroundService
{
    /// <summary>Processing attempts that end in an error other than Membership being unavailable before a batch is FAILED.</summary>
    public const int MaxFailedAttempts = 3;

    /// <summary>An upload silent for this long was abandoned (its host crashed before the half-close).</summary>
    public static readonly TimeSpan AbandonedUploadAge = TimeSpan.FromMinutes(10);

    /// <summary>The job lease under which one replica purges and removes abandoned uploads.</summary>
    public const string SweepJob = "prakerja-retention-sweep";

    /// <summary>This process's lease owner name.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Membership is reached through this server in monolithic mode: wait until it listens.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var nextSweep = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var woken = signals.NextWork();
            try
            {
                if (time.GetUtcNow() >= nextSweep)
                {
                    await SweepAsync(stoppingToken);
                    nextSweep = time.GetUtcNow() + settings.PollInterval;
                }

                if (await ClaimAsync(stoppingToken) is { } batchKey)
                {
                    await RunAsync(batchKey, stoppingToken);
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.WorkerFailed(logger, ex);
            }

            try
            {
                await Task.WhenAny(woken, Task.Delay(settings.PollInterval, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunAsync(long batchKey, CancellationToken stoppingToken)
    {
        try
        {
            await processor.ProcessAsync(batchKey, Owner, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the batch back at once rather than after the lease runs out.
            await ReleaseAsync(batchKey, failed: false, CancellationToken.None);
            throw;
        }
        catch (Exception ex)
        {
            Log.BatchFailed(logger, batchKey, ex);
            await ReleaseAsync(batchKey, failed: true, stoppingToken);
        }
    }

    /// <summary>Takes the oldest batch with work whose lease is free or ran out; null when there is none.</summary>
    public Task<long?> ClaimAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return store.ClaimAsync(Owner, now, now + settings.LeaseDuration, cancellationToken);
    }

    private async Task ReleaseAsync(long batchKey, bool failed, CancellationToken cancellationToken)
    {
        if (!failed)
        {
            await store.HandBackAsync(batchKey, Owner, cancellationToken);
        }
        else
        {
            // A FAILED batch keeps its results so far (purged with the rest after the retention period); an operator must look.
            var now = time.GetUtcNow();
            var attempt = await store.RecordFailedAttemptAsync(batchKey, Owner, now + settings.RetryDelay * 5, MaxFailedAttempts, now + settings.ResultRetention, cancellationToken);
            if (attempt is { GaveUp: true }) Log.GaveUp(logger, attempt.BatchId, attempt.Attempts);
        }

        signals.Progressed(batchKey);
    }

    /// <summary>Purges batches past their retention (rows deleted, then EXPIRED) and removes abandoned uploads, if this replica holds the sweep's lease; false when another does.</summary>
    public async Task<bool> SweepAsync(CancellationToken cancellationToken)
    {
        // Held across rounds (renewed each time) until this replica stops: a killed holder's lease runs out and another sweeps.
        if (await leases.TryAcquireAsync(SweepJob, Owner, settings.LeaseDuration, cancellationToken) is null) return false;
        var now = time.GetUtcNow();
        foreach (var batch in await store.ExpiredAsync(now, cancellationToken))
        {
            var deleted = await store.PurgeAsync(batch.BatchKey, cancellationToken);
            signals.Progressed(batch.BatchKey);
            Log.Purged(logger, batch.BatchId, deleted);
        }

        foreach (var batchKey in await store.AbandonedUploadsAsync(now - AbandonedUploadAge, cancellationToken))
            await store.DiscardUploadAsync(batchKey, cancellationToken);
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6110, Level = LogLevel.Error, Message = "The Prakerja batch worker failed; it retries")]
        public static partial void WorkerFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6111, Level = LogLevel.Error, Message = "Processing Prakerja batch {BatchKey} failed")]
        public static partial void BatchFailed(ILogger logger, long batchKey, Exception exception);

        [LoggerMessage(EventId = 6112, Level = LogLevel.Error, Message = "Prakerja batch {BatchId} FAILED after {Attempts} attempts; an operator must look")]
        public static partial void GaveUp(ILogger logger, string batchId, int attempts);

        [LoggerMessage(EventId = 6113, Level = LogLevel.Information, Message = "Prakerja batch {BatchId} expired: {Rows} result rows purged")]
        public static partial void Purged(ILogger logger, string batchId, long rows);
    }
}
