using Microsoft.EntityFrameworkCore;
using Verification.Domain;
using Microsoft.Extensions.Logging;
using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Features.Submit;

/// <summary>How an upload ended.</summary>
public abstract record SubmitOutcome
{
    /// <summary>The batch exists (new, or the first answer for a repeated key and input).</summary>
    public sealed record Accepted(SubmitBatchResponse Response) : SubmitOutcome;

    /// <summary>
    /// The stream was malformed. <paramref name="BatchId"/>: the batch formed from the recipients received before
    /// (null when the first message was malformed and nothing was kept).
    /// </summary>
    public sealed record Malformed(IReadOnlyList<FieldViolation> Violations, string? BatchId) : SubmitOutcome;

    /// <summary>The idempotency key was used for a different input.</summary>
    public sealed record KeyReused : SubmitOutcome;
}

/// <summary>The validated header of an upload.</summary>
public sealed record UploadHeader(string Label, string Cohort, string IdempotencyKey);

/// <summary>
/// Receives a SubmitBatch upload: stores the recipients set-based in slices of <see cref="FlushRows"/> (memory stays
/// bounded whatever the size), checks each NIK's structure (an invalid NIK is stored as its result, never as a NIK),
/// computes the input digest, and commits the batch at the half-close.
/// </summary>
/// <remarks>
/// The rows are written while the upload runs, under a batch in state UPLOADING that nobody sees. The half-close
/// makes it PENDING together with its digest, count, cohorts and idempotency key, in one transaction, once a large
/// batch's rows are in the planner's statistics (<see cref="RecipientRows.AnalyseAsync"/>). A stream that
/// breaks first has its rows deleted at once; a host that crashes mid-upload leaves them to the worker's sweep of
/// silent uploads. A repeated key is answered from the first batch: the repeat's recipients are only hashed, not stored.
/// </remarks>
public sealed partial class BatchSubmission(
    PrakerjaDbContext db,
    RecipientRows rows,
    BatchSignals signals,
    TimeProvider time,
    ILogger<BatchSubmission> logger)
{
    /// <summary>Rows per set-based insert: the most an upload holds in memory besides the message being read.</summary>
    public const int FlushRows = 8_192;

    public const int MaxLabelLength = 100;
    public const int MaxCohortLength = 64;
    public const int MaxRowIdLength = 64;
    public const int MaxIdempotencyKeyLength = 100;

    /// <summary>The header's problems, each as a field violation.</summary>
    public static IReadOnlyList<FieldViolation> Validate(SubmitBatchHeader header)
    {
        var violations = new List<FieldViolation>();
        if (header.Label.Length is 0 or > MaxLabelLength || header.Label.Any(char.IsControl))
            violations.Add(new("header.label", "LABEL_INVALID", $"A label has 1-{MaxLabelLength} characters and no control characters."));
        if (header.Cohort.Length > MaxCohortLength)
            violations.Add(new("header.cohort", "COHORT_TOO_LONG", $"A cohort has at most {MaxCohortLength} characters."));
        if (header.IdempotencyKey.Length > MaxIdempotencyKeyLength)
            violations.Add(new("header.idempotency_key", "IDEMPOTENCY_KEY_TOO_LONG", $"An idempotency key has at most {MaxIdempotencyKeyLength} characters."));
        return violations;
    }

    /// <summary>The chunk's problems (the whole message is refused: the recipients kept are those of the messages before).</summary>
    public static IReadOnlyList<FieldViolation> Validate(RecipientChunk chunk, string prefix)
    {
        List<FieldViolation>? violations = null;
        for (var i = 0; i < chunk.Recipients.Count; i++)
        {
            var recipient = chunk.Recipients[i];
            if (recipient.RowId.Length > MaxRowIdLength)
                (violations ??= []).Add(new($"{prefix}recipients[{i}].row_id", "ROW_ID_TOO_LONG", $"A row id has at most {MaxRowIdLength} characters."));
            if (recipient.Cohort.Length > MaxCohortLength)
                (violations ??= []).Add(new($"{prefix}recipients[{i}].cohort", "COHORT_TOO_LONG", $"A cohort has at most {MaxCohortLength} characters."));
        }

        return violations ?? (IReadOnlyList<FieldViolation>)[];
    }

    public async Task<SubmitOutcome> SubmitAsync(IAsyncStreamReader<SubmitBatchRequest> requests, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        if (!await requests.MoveNext(cancellationToken))
            return new SubmitOutcome.Malformed([new("header", "HEADER_MISSING", "The first message must be the header; the stream was empty.")], null);
        var first = requests.Current;
        if (first.ContentCase != SubmitBatchRequest.ContentOneofCase.Header)
            return new SubmitOutcome.Malformed([new("header", "HEADER_MISSING", "The first message must be the header.")], null);
        var problems = Validate(first.Header);
        if (problems.Count > 0) return new SubmitOutcome.Malformed(problems, null);
        var header = new UploadHeader(first.Header.Label, first.Header.Cohort, first.Header.IdempotencyKey);

        if (header.IdempotencyKey.Length > 0 && await FindByKeyAsync(memberCode, header.IdempotencyKey, cancellationToken) is { } earlier)
            return await ReplayAsync(requests, header, earlier, cancellationToken);

        var now = time.GetUtcNow();
        var batch = new CrossCheckBatch
        {
            BatchId = Guid.CreateVersion7(now).ToString("N"),
            Label = header.Label,
            HeaderCohort = header.Cohort,
            SubmitMemberCode = memberCode,
            CorrelationId = correlationId,
            State = BatchLifecycle.Uploading,
            SubmitTime = now,
            UploadTouchTime = now,
        };
        await SaveAsync(() => db.Batches.Add(batch), cancellationToken);
        try
        {
            var upload = await ReceiveAsync(requests, header, batch.BatchKey, store: true, cancellationToken);
            return await CommitAsync(batch, header, upload, cancellationToken);
        }
        catch
        {
            // The stream broke before the half-close (or storing failed): nothing of it is left.
            await DiscardAsync(batch.BatchKey, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Deletes an uncommitted upload: its rows, then its batch.</summary>
    public async Task DiscardAsync(long batchKey, CancellationToken cancellationToken)
    {
        await rows.DeleteAsync(batchKey, cancellationToken);
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            await db.Batches.Where(b => b.BatchKey == batchKey && b.State == BatchLifecycle.Uploading).ExecuteDeleteAsync(cancellationToken);
            await db.Cohorts.Where(c => c.BatchKey == batchKey).ExecuteDeleteAsync(cancellationToken);
        }
        finally
        {
            gate?.Release();
        }
    }

    private sealed record Upload(long Count, byte[] Digest, Dictionary<string, int> Cohorts, IReadOnlyList<FieldViolation> Violations);

    /// <summary>Reads the chunks to the half-close or the first malformed message, storing (or only hashing) the recipients.</summary>
    private async Task<Upload> ReceiveAsync(IAsyncStreamReader<SubmitBatchRequest> requests, UploadHeader header, long batchKey, bool store, CancellationToken cancellationToken)
    {
        using var digest = new InputDigest();
        var cohorts = new Dictionary<string, int>(StringComparer.Ordinal);
        var buffer = store ? new RecipientRowBuffer(FlushRows) : null;
        long count = 0;
        var message = 0;
        IReadOnlyList<FieldViolation> violations = [];
        while (await requests.MoveNext(cancellationToken))
        {
            message++;
            var request = requests.Current;
            if (request.ContentCase == SubmitBatchRequest.ContentOneofCase.Header)
            {
                violations = [new("header", "HEADER_REPEATED", $"Message {message} is a second header; only the first message may be one.")];
                break;
            }

            if (request.ContentCase != SubmitBatchRequest.ContentOneofCase.Chunk)
            {
                violations = [new("content", "MESSAGE_EMPTY", $"Message {message} sets neither header nor chunk.")];
                break;
            }

            violations = Validate(request.Chunk, "chunk.");
            if (violations.Count > 0) break;
            foreach (var recipient in request.Chunk.Recipients)
            {
                var cohort = recipient.Cohort.Length > 0 ? recipient.Cohort : header.Cohort;
                digest.AddRecipient(recipient.RowId, recipient.Nik, cohort);
                if (buffer is not null)
                {
                    if (!cohorts.TryGetValue(cohort, out var cohortId)) cohorts[cohort] = cohortId = cohorts.Count;
                    var (nik, reason) = RecipientVerdict.Read(recipient.Nik);
                    buffer.Add(count, recipient.RowId, cohortId, nik,
                        (short)(reason == InvalidNikReason.Unspecified ? 0 : (int)RecipientStatus.InvalidNik), (short)reason);
                    if (buffer.IsFull) await FlushAsync(batchKey, buffer, cancellationToken);
                }

                count++;
            }
        }

        if (buffer is not null) await FlushAsync(batchKey, buffer, cancellationToken);
        return new Upload(count, digest.Finish(), cohorts, violations);
    }

    private async Task FlushAsync(long batchKey, RecipientRowBuffer buffer, CancellationToken cancellationToken)
    {
        if (buffer.Count == 0) return;
        await rows.InsertAsync(batchKey, buffer, cancellationToken);
        buffer.Clear();
        // A sign of life, so the sweep does not take a long upload for an abandoned one; at most once a minute.
        if (time.GetUtcNow() - _touched > TimeSpan.FromMinutes(1))
        {
            _touched = time.GetUtcNow();
            var gate = await db.EnterWriteGateAsync(cancellationToken);
            try
            {
                await db.Batches.Where(b => b.BatchKey == batchKey).ExecuteUpdateAsync(u => u.SetProperty(b => b.UploadTouchTime, _touched), cancellationToken);
            }
            finally
            {
                gate?.Release();
            }
        }
    }

    private DateTimeOffset _touched = DateTimeOffset.MinValue;

    private async Task<SubmitOutcome> CommitAsync(CrossCheckBatch batch, UploadHeader header, Upload upload, CancellationToken cancellationToken)
    {
        // Autoanalyze comes when it comes: the statistics must know a large batch before the worker plans over it.
        if (upload.Count >= RecipientRows.AnalyseFromRows) await rows.AnalyseAsync(cancellationToken);
        batch.State = BatchLifecycle.Pending;
        batch.InputSha256 = upload.Digest;
        batch.RecipientCount = upload.Count;
        batch.InputTruncated = upload.Violations.Count > 0;
        batch.IdempotencyKey = header.IdempotencyKey.Length > 0 ? header.IdempotencyKey : null;
        try
        {
            await SaveAsync(() =>
            {
                foreach (var (cohort, id) in upload.Cohorts) db.Cohorts.Add(new BatchCohort { BatchKey = batch.BatchKey, CohortId = id, Cohort = cohort });
            }, cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            // A concurrent upload with the same key committed first: its batch is the answer, this one goes.
            db.ChangeTracker.Clear();
            await DiscardAsync(batch.BatchKey, CancellationToken.None);
            var winner = await FindByKeyAsync(batch.SubmitMemberCode, header.IdempotencyKey, cancellationToken)
                ?? throw new InvalidOperationException("An idempotency key conflicted with no committed batch.");
            return SameInput(winner, upload) ? Answer(winner) : new SubmitOutcome.KeyReused();
        }

        signals.WorkArrived();
        Log.Submitted(logger, batch.BatchId, batch.RecipientCount, batch.InputTruncated);
        return Answer(batch, upload.Violations);
    }

    private async Task<SubmitOutcome> ReplayAsync(IAsyncStreamReader<SubmitBatchRequest> requests, UploadHeader header, CrossCheckBatch earlier, CancellationToken cancellationToken)
    {
        var upload = await ReceiveAsync(requests, header, earlier.BatchKey, store: false, cancellationToken);
        return SameInput(earlier, upload) ? Answer(earlier, upload.Violations) : new SubmitOutcome.KeyReused();
    }

    private static bool SameInput(CrossCheckBatch batch, Upload upload) =>
        batch.InputSha256 is { } digest && digest.AsSpan().SequenceEqual(upload.Digest) && batch.RecipientCount == upload.Count
        && batch.InputTruncated == upload.Violations.Count > 0;

    private static SubmitOutcome Answer(CrossCheckBatch batch, IReadOnlyList<FieldViolation>? violations = null) =>
        violations is { Count: > 0 }
            ? new SubmitOutcome.Malformed(violations, batch.BatchId)
            : batch.InputTruncated
                ? new SubmitOutcome.Malformed([new("content", "INPUT_TRUNCATED", "The first upload with this key ended with a malformed message.")], batch.BatchId)
                : new SubmitOutcome.Accepted(new SubmitBatchResponse
                {
                    BatchId = batch.BatchId,
                    InputSha256 = Google.Protobuf.ByteString.CopyFrom(batch.InputSha256 ?? []),
                    RecipientCount = batch.RecipientCount,
                    State = BatchView.ToApi(batch.State is BatchLifecycle.Uploading ? BatchLifecycle.Pending : batch.State),
                });

    private async Task<CrossCheckBatch?> FindByKeyAsync(string memberCode, string key, CancellationToken cancellationToken) =>
        await db.Batches.AsNoTracking().SingleOrDefaultAsync(b => b.SubmitMemberCode == memberCode && b.IdempotencyKey == key, cancellationToken);

    private async Task SaveAsync(Action change, CancellationToken cancellationToken)
    {
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            change();
            await db.SaveChangesAsync(cancellationToken);
        }
        finally
        {
            gate?.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6120, Level = LogLevel.Information, Message = "Prakerja batch {BatchId} submitted: {Recipients} recipients, truncated {Truncated}")]
        public static partial void Submitted(ILogger logger, string batchId, long recipients, bool truncated);
    }
}
