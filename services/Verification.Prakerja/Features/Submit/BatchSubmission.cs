using Microsoft.Extensions.Logging;
using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;
using Verification.Domain;
using Verification.Platform.Telemetry;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Features.Submit;

/// <summary>How an upload ended.</summary>
public abstract record SubmitOutcome
{
    /// <summary>The batch exists (new, or the first answer for a repeated key and input).</summary>
    public sealed record Accepted(BatchReceipt Receipt) : SubmitOutcome;

    /// <summary>
    /// The stream was malformed. <paramref name="BatchId"/>: the batch formed from the recipients received before
    /// (null when the first message was malformed and nothing was kept).
    /// </summary>
    public sealed record Malformed(IReadOnlyList<FieldViolation> Violations, string? BatchId) : SubmitOutcome;

    /// <summary>The idempotency key was used for a different input.</summary>
    public sealed record KeyReused : SubmitOutcome;
}

/// <summary>What an accepted upload is told: its batch, the digest of what was received, how many recipients, and the batch's state.</summary>
public sealed record BatchReceipt(string BatchId, byte[] InputSha256, long RecipientCount, BatchLifecycle State);

/// <summary>The header of an upload.</summary>
public sealed record UploadHeader(string Label, string Cohort, string IdempotencyKey);

/// <summary>One message of an upload, as the client sent it.</summary>
public abstract record UploadMessage
{
    public sealed record Header(UploadHeader Fields) : UploadMessage;

    public sealed record Recipients(IReadOnlyList<RecipientLine> Lines) : UploadMessage;

    /// <summary>A message that set neither a header nor recipients.</summary>
    public sealed record Empty : UploadMessage;
}

/// <summary>
/// Receives a SubmitBatch upload: stores the recipients set-based in slices of <see cref="FlushRows"/> (memory stays
/// bounded whatever the size), checks each NIK's structure (an invalid NIK is stored as its result, never as a NIK),
/// computes the input digest, and commits the batch at the half-close.
/// </summary>
/// <remarks>
/// The rows are written while the upload runs, under a batch in state UPLOADING that nobody sees. The half-close
/// makes it PENDING together with its digest, count, cohorts and idempotency key, in one transaction, once the store has
/// made the rows ready to be planned over (<see cref="PrakerjaStore.CommitUploadAsync"/>). A stream that
/// breaks first has its rows deleted at once; a host that crashes mid-upload leaves them to the worker's sweep of
/// silent uploads. A repeated key is answered from the first batch: the repeat's recipients are only hashed, not stored.
/// </remarks>
public sealed partial class BatchSubmission(
    PrakerjaStore store,
    BatchSignals signals,
    TimeProvider time,
    ILogger<BatchSubmission> logger)
{
    /// <summary>Rows per set-based insert: the most an upload holds in memory besides the message being read.</summary>
    public const int FlushRows = 8_192;

    public const int MaxLabelLength = 100;
    public const int MaxIdempotencyKeyLength = 100;

    /// <summary>The header's problems, each as a field violation.</summary>
    public static IReadOnlyList<FieldViolation> Validate(UploadHeader header)
    {
        var violations = new List<FieldViolation>();
        if (header.Label.Length is 0 or > MaxLabelLength || header.Label.Any(char.IsControl))
            violations.Add(new("header.label", "LABEL_INVALID", $"A label has 1-{MaxLabelLength} characters and no control characters."));
        if (header.Cohort.Length > RecipientLine.MaxCohortLength)
            violations.Add(new("header.cohort", "COHORT_TOO_LONG", $"A cohort has at most {RecipientLine.MaxCohortLength} characters."));
        if (header.IdempotencyKey.Length > MaxIdempotencyKeyLength)
            violations.Add(new("header.idempotency_key", "IDEMPOTENCY_KEY_TOO_LONG", $"An idempotency key has at most {MaxIdempotencyKeyLength} characters."));
        return violations;
    }

    public async Task<SubmitOutcome> SubmitAsync(IAsyncEnumerable<UploadMessage> messages, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        await using var reader = messages.GetAsyncEnumerator(cancellationToken);
        if (!await reader.MoveNextAsync())
            return new SubmitOutcome.Malformed([new("header", "HEADER_MISSING", "The first message must be the header; the stream was empty.")], null);
        if (reader.Current is not UploadMessage.Header { Fields: var header })
            return new SubmitOutcome.Malformed([new("header", "HEADER_MISSING", "The first message must be the header.")], null);
        var problems = Validate(header);
        if (problems.Count > 0) return new SubmitOutcome.Malformed(problems, null);

        if (header.IdempotencyKey.Length > 0 && await store.FindByIdempotencyKeyAsync(memberCode, header.IdempotencyKey, cancellationToken) is { } earlier)
            return await ReplayAsync(reader, header, earlier, cancellationToken);

        var now = time.GetUtcNow();
        var batch = new CrossCheckBatch
        {
            BatchId = NewBatchId(() => Guid.CreateVersion7(now)),
            Label = header.Label,
            HeaderCohort = header.Cohort,
            SubmitMemberCode = memberCode,
            CorrelationId = correlationId,
            State = BatchLifecycle.Uploading,
            SubmitTime = now,
            UploadTouchTime = now,
        };
        await store.StartUploadAsync(batch, cancellationToken);
        try
        {
            var upload = await ReceiveAsync(reader, header, batch.BatchKey, keepRows: true, cancellationToken);
            if (upload.Count == 0)
            {
                // No recipient: no batch (an empty one would only be a row to read, retain and audit).
                await store.DiscardUploadAsync(batch.BatchKey, CancellationToken.None);
                return new SubmitOutcome.Malformed(upload.Violations.Count > 0 ? upload.Violations
                    : [new("chunk.recipients", "RECIPIENTS_EMPTY", "An upload names at least one recipient; nothing was kept.")], null);
            }
            return await CommitAsync(batch, header, upload, cancellationToken);
        }
        catch
        {
            // The stream broke before the half-close (or storing failed): nothing of it is left.
            await store.DiscardUploadAsync(batch.BatchKey, CancellationToken.None);
            throw;
        }
    }

    private sealed record Upload(long Count, byte[] Digest, Dictionary<string, int> Cohorts, IReadOnlyList<FieldViolation> Violations);

    /// <summary>Reads the messages to the half-close or the first malformed one, storing (or, for a repeat, only hashing) the recipients.</summary>
    private async Task<Upload> ReceiveAsync(IAsyncEnumerator<UploadMessage> reader, UploadHeader header, long batchKey, bool keepRows, CancellationToken cancellationToken)
    {
        using var digest = new InputDigest();
        var cohorts = new Dictionary<string, int>(StringComparer.Ordinal);
        var buffer = keepRows ? new RecipientRowBuffer(FlushRows) : null;
        var touched = DateTimeOffset.MinValue;
        long count = 0;
        var message = 0;
        IReadOnlyList<FieldViolation> violations = [];
        while (await reader.MoveNextAsync())
        {
            message++;
            if (reader.Current is UploadMessage.Header)
            {
                violations = [new("header", "HEADER_REPEATED", $"Message {message} is a second header; only the first message may be one.")];
                break;
            }

            if (reader.Current is not UploadMessage.Recipients { Lines: var lines })
            {
                violations = [new("content", "MESSAGE_EMPTY", $"Message {message} sets neither header nor chunk.")];
                break;
            }

            violations = RecipientLine.Problems(lines, "chunk.");
            if (violations.Count > 0) break;
            foreach (var recipient in lines)
            {
                var cohort = recipient.Cohort.Length > 0 ? recipient.Cohort : header.Cohort;
                digest.AddRecipient(recipient.RowId, recipient.Nik, cohort);
                if (buffer is not null)
                {
                    if (!cohorts.TryGetValue(cohort, out var cohortId)) cohorts[cohort] = cohortId = cohorts.Count;
                    var (nik, reason) = RecipientVerdict.Read(recipient.Nik);
                    buffer.Add(count, recipient.RowId, cohortId, nik,
                        (short)(reason == InvalidNikReason.Unspecified ? 0 : (int)RecipientStatus.InvalidNik), (short)reason);
                    if (buffer.IsFull) await FlushAsync(buffer);
                }

                count++;
            }
        }

        if (buffer is not null) await FlushAsync(buffer);
        return new Upload(count, digest.Finish(), cohorts, violations);

        async Task FlushAsync(RecipientRowBuffer rows)
        {
            if (rows.Count == 0) return;
            await store.InsertRowsAsync(batchKey, rows, cancellationToken);
            rows.Clear();
            // A sign of life, so the sweep does not take a long upload for an abandoned one; at most once a minute.
            if (time.GetUtcNow() - touched > TimeSpan.FromMinutes(1))
            {
                touched = time.GetUtcNow();
                await store.TouchUploadAsync(batchKey, touched, cancellationToken);
            }
        }
    }

    private async Task<SubmitOutcome> CommitAsync(CrossCheckBatch batch, UploadHeader header, Upload upload, CancellationToken cancellationToken)
    {
        var totals = new UploadTotals(upload.Digest, upload.Count, upload.Violations.Count > 0,
            header.IdempotencyKey.Length > 0 ? header.IdempotencyKey : null, upload.Cohorts);
        if (!await store.CommitUploadAsync(batch.BatchKey, totals, cancellationToken))
        {
            // A concurrent upload with the same key committed first: its batch is the answer, this one goes.
            await store.DiscardUploadAsync(batch.BatchKey, CancellationToken.None);
            var winner = await store.FindByIdempotencyKeyAsync(batch.SubmitMemberCode, header.IdempotencyKey, cancellationToken)
                ?? throw new InvalidOperationException("An idempotency key conflicted with no committed batch.");
            return SameInput(winner, upload) ? Answer(winner) : new SubmitOutcome.KeyReused();
        }

        batch.State = BatchLifecycle.Pending;
        batch.InputSha256 = totals.InputSha256;
        batch.RecipientCount = totals.RecipientCount;
        batch.InputTruncated = totals.InputTruncated;
        batch.IdempotencyKey = totals.IdempotencyKey;
        signals.WorkArrived();
        Log.Submitted(logger, batch.BatchId, batch.RecipientCount, batch.InputTruncated);
        return Answer(batch, upload.Violations);
    }

    private async Task<SubmitOutcome> ReplayAsync(IAsyncEnumerator<UploadMessage> reader, UploadHeader header, CrossCheckBatch earlier, CancellationToken cancellationToken)
    {
        var upload = await ReceiveAsync(reader, header, earlier.BatchKey, keepRows: false, cancellationToken);
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
                : new SubmitOutcome.Accepted(new BatchReceipt(batch.BatchId, batch.InputSha256 ?? [], batch.RecipientCount,
                    batch.State is BatchLifecycle.Uploading ? BatchLifecycle.Pending : batch.State));

    /// <summary>
    /// A batch id: 32 lower-case hex characters that never hold a NIK-shaped run of digits. About one id in a hundred
    /// does, and logs, spans and the audit log's keys mask such runs, so the operator's log lines and the auditor's entries
    /// would show that batch's id masked.
    /// </summary>
    internal static string NewBatchId(Func<Guid> next)
    {
        while (true)
        {
            var id = next().ToString("N");
            if (string.Equals(NikRedaction.Mask(id), id, StringComparison.Ordinal)) return id;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6120, Level = LogLevel.Information, Message = "Prakerja batch {BatchId} submitted: {Recipients} recipients, truncated {Truncated}")]
        public static partial void Submitted(ILogger logger, string batchId, long recipients, bool truncated);
    }
}
