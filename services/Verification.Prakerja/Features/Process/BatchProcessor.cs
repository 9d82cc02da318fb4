using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api.Prakerja.V1;
using Verification.Contracts.Events;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Features.Process;

/// <summary>
/// Checks one batch in chunks of <see cref="PrakerjaSettings.ChunkSize"/> rows, resumable at any chunk boundary.
/// </summary>
/// <remarks>
/// First, once, every repeated NIK is marked DUPLICATE_IN_BATCH in one statement (the first occurrence keeps its NIK).
/// Then per chunk: read its rows, send the NIKs still waiting to Membership in one bulk call, and record the results,
/// the NIKs' removal, the cohorts' counts, a per-chunk marker and the renewed lease in one transaction (the marker makes
/// a chunk count once, so chunks are recorded concurrently, up to ChunksInFlight, each with its own buffer). The progress
/// then moves over the oldest chunk, so it is always a prefix of recorded chunks. A crash loses at most the chunks in
/// flight; whoever holds the lease next resumes at the saved progress and skips chunks already marked above it. The last
/// chunk's commit is followed by the completion (state, times, PrakerjaBatchCompleted in the outbox) in one transaction.
/// </remarks>
public sealed partial class BatchProcessor(
    PrakerjaStore store,
    RegistryCheck registry,
    BatchSignals signals,
    PrakerjaSettings settings,
    TimeProvider time,
    ILogger<BatchProcessor> logger)
{
    public const string SourceModule = "prakerja";

    /// <summary>Chunks read, checked and recorded at once: Membership and the database work on several while the oldest ends.</summary>
    public const int ChunksInFlight = 3;

    /// <summary>Deadline of one chunk's Membership call.</summary>
    private static readonly TimeSpan ChunkDeadline = TimeSpan.FromMinutes(2);

    /// <summary>Processes the batch while this worker holds its lease; true when it completed.</summary>
    public async Task<bool> ProcessAsync(long batchKey, string leaseOwner, CancellationToken cancellationToken)
    {
        var batch = await store.GetAsync(batchKey, cancellationToken);
        if (batch.State is not (BatchLifecycle.Pending or BatchLifecycle.Running)) return false;
        if (!batch.DuplicatesMarked)
        {
            var duplicates = await store.MarkDuplicatesAsync(batchKey, leaseOwner, cancellationToken);
            Log.DuplicatesMarked(logger, batch.BatchId, duplicates);
        }

        // Up to ChunksInFlight chunks are read, checked and recorded at once; the progress follows the oldest, so it is
        // always a prefix of recorded chunks.
        var buffers = Enumerable.Range(0, ChunksInFlight).Select(_ => new RecipientRowBuffer(settings.ChunkSize)).ToArray();
        var inFlight = new Queue<(Task<ChunkRecording> Task, long End)>();
        var nextStart = batch.ProcessedCount;
        var turn = 0;
        void Refill()
        {
            while (inFlight.Count < ChunksInFlight && nextStart < batch.RecipientCount)
            {
                var end = Math.Min(batch.RecipientCount, nextStart + settings.ChunkSize);
                inFlight.Enqueue((CheckAndRecordAsync(batchKey, nextStart, end, leaseOwner, buffers[turn++ % ChunksInFlight], cancellationToken), end));
                nextStart = end;
            }
        }

        Refill();
        while (inFlight.Count > 0)
        {
            bool kept;
            try
            {
                var (task, end) = inFlight.Dequeue();
                kept = await task != ChunkRecording.LeaseLost && await store.AdvanceAsync(batchKey, end, leaseOwner, cancellationToken);
                if (kept) Refill();
            }
            catch
            {
                await AbandonAll(inFlight);
                throw;
            }

            if (!kept)
            {
                await AbandonAll(inFlight);
                Log.LeaseLost(logger, batch.BatchId);
                return false;
            }

            signals.Progressed(batchKey);
        }

        var completed = await CompleteAsync(batchKey, leaseOwner, cancellationToken);
        signals.Progressed(batchKey);
        return completed;
    }

    private static async Task AbandonAll(Queue<(Task<ChunkRecording> Task, long End)> inFlight)
    {
        while (inFlight.TryDequeue(out var entry))
        {
            var task = entry.Task;
            try
            {
                await task;
            }
            catch
            {
                // The chunks in flight are read and checked again by whoever resumes.
            }
        }
    }

    private async Task<ChunkRecording> CheckAndRecordAsync(long batchKey, long start, long end, string leaseOwner, RecipientRowBuffer buffer, CancellationToken cancellationToken)
    {
        var chunk = await CheckChunkAsync(batchKey, start, end, buffer, cancellationToken);
        return await store.RecordChunkAsync(chunk, leaseOwner, time.GetUtcNow() + settings.LeaseDuration, cancellationToken);
    }

    /// <summary>Reads rows [start, start + chunk) and asks Membership about the NIKs still waiting, retrying while Membership is unavailable.</summary>
    private async Task<CheckedChunk> CheckChunkAsync(long batchKey, long start, long end, RecipientRowBuffer buffer, CancellationToken cancellationToken)
    {
        await store.ReadChunkAsync(batchKey, start, end, buffer, cancellationToken);
        if (buffer.Count != end - start) throw new InvalidOperationException($"Rows [{start}, {end}) of a batch are incomplete ({buffer.Count} found).");

        var waiting = new List<int>(buffer.Count);
        for (var i = 0; i < buffer.Count; i++) if (buffer.Statuses[i] == 0) waiting.Add(i);
        var attempt = 0;
        while (true)
        {
            try
            {
                await registry.CheckAsync(waiting.Count, w => buffer.Niks[waiting[w]], (w, answer) =>
                {
                    var (status, reason) = RecipientVerdict.Of(answer);
                    buffer.Statuses[waiting[w]] = (short)status;
                    buffer.Reasons[waiting[w]] = (short)reason;
                }, ChunkDeadline, cancellationToken);
                break;
            }
            catch (RpcException ex) when (RegistryCheck.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                attempt++;
                Log.MembershipUnavailable(logger, ex.StatusCode, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(attempt, 7)))), time, cancellationToken);
            }
        }

        var cohorts = new Dictionary<int, RecipientCounts>();
        for (var i = 0; i < buffer.Count; i++)
        {
            if (!cohorts.TryGetValue(buffer.CohortIds[i], out var counts)) cohorts[buffer.CohortIds[i]] = counts = new RecipientCounts();
            counts.Add((RecipientStatus)buffer.Statuses[i]);
        }

        var offsets = new long[waiting.Count];
        var statuses = new short[waiting.Count];
        var reasons = new short[waiting.Count];
        for (var w = 0; w < waiting.Count; w++)
        {
            offsets[w] = buffer.Offsets[waiting[w]];
            statuses[w] = buffer.Statuses[waiting[w]];
            reasons[w] = buffer.Reasons[waiting[w]];
        }

        return new CheckedChunk(batchKey, start, end, offsets, statuses, reasons, cohorts);
    }

    private async Task<bool> CompleteAsync(long batchKey, string leaseOwner, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var completed = await store.CompleteAsync(batchKey, leaseOwner, now, now + settings.ResultRetention, report =>
        {
            var batch = report.Batch;
            var totals = report.Totals();
            return new PrakerjaBatchCompleted(
                DeterministicEventId(batch.BatchId), now, batch.CorrelationId, batch.SubmitMemberCode, SourceModule, batch.BatchId, batch.Label,
                [.. report.Cohorts.Select(c => c.Cohort).Order(StringComparer.Ordinal)],
                totals.Recipients, totals.Covered, totals.NotCovered, totals.InvalidNik, Convert.ToHexStringLower(batch.InputSha256 ?? []));
        }, cancellationToken);
        if (completed is null) return false;
        if (logger.IsEnabled(LogLevel.Information))
        {
            var recipients = completed.Totals().Recipients; // Totals() sums every cohort: only when the line is written
            Log.Completed(logger, completed.Batch.BatchId, recipients);
        }
        return true;
    }

    /// <summary>One event id per batch: were the completion ever attempted twice, the outbox's unique event id refuses the second.</summary>
    public static Guid DeterministicEventId(string batchId)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("prakerja-batch-completed:" + batchId), hash);
        return new Guid(hash[..16]);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Prakerja batch {BatchId}: {Duplicates} repeated NIKs marked")]
        public static partial void DuplicatesMarked(ILogger logger, string batchId, long duplicates);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Prakerja batch {BatchId}: another worker took the lease; stopping")]
        public static partial void LeaseLost(ILogger logger, string batchId);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Membership unavailable for a Prakerja chunk ({Status}), attempt {Attempt}; retrying")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, int attempt);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "Prakerja batch {BatchId} completed: {Recipients} recipients")]
        public static partial void Completed(ILogger logger, string batchId, long recipients);
    }
}
