using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;
using Verification.Prakerja.Features.Submit;

namespace Verification.Prakerja.Grpc;

/// <summary>The module's answers as the API shows them.</summary>
public static class PrakerjaMapping
{
    public static BatchState ToApi(BatchLifecycle state) => state switch
    {
        BatchLifecycle.Pending => BatchState.Pending,
        BatchLifecycle.Running => BatchState.Running,
        BatchLifecycle.Completed => BatchState.Completed,
        BatchLifecycle.Failed => BatchState.Failed,
        BatchLifecycle.Expired => BatchState.Expired,
        _ => BatchState.Unspecified,
    };

    public static SubmitBatchResponse ToApi(BatchReceipt receipt) => new()
    {
        BatchId = receipt.BatchId,
        InputSha256 = ByteString.CopyFrom(receipt.InputSha256),
        RecipientCount = receipt.RecipientCount,
        State = ToApi(receipt.State),
    };

    public static Batch ToApi(BatchReport report)
    {
        var batch = report.Batch;
        var view = new Batch
        {
            BatchId = batch.BatchId,
            Label = batch.Label,
            State = ToApi(batch.State),
            InputSha256 = ByteString.CopyFrom(batch.InputSha256 ?? []),
            RecipientCount = batch.RecipientCount,
            ProcessedCount = batch.ProcessedCount,
            InputTruncated = batch.InputTruncated,
            SubmitMemberCode = batch.SubmitMemberCode,
            SubmitTime = Timestamp.FromDateTimeOffset(batch.SubmitTime),
            CompleteTime = batch.CompleteTime is { } complete ? Timestamp.FromDateTimeOffset(complete) : null,
            ExpireTime = batch.ExpireTime is { } expire ? Timestamp.FromDateTimeOffset(expire) : null,
            Totals = ToApi(report.Totals()),
        };
        foreach (var cohort in report.Cohorts.OrderBy(c => c.Cohort, StringComparer.Ordinal))
        {
            view.Cohorts.Add(cohort.Cohort);
            view.CohortTotals.Add(new CohortTotals { Cohort = cohort.Cohort, Totals = ToApi(cohort.Counts()) });
        }

        return view;
    }

    public static RecipientTotals ToApi(RecipientCounts counts) => new()
    {
        Recipients = counts.Recipients,
        NotRegistered = counts.NotRegistered,
        ActiveWageEarner = counts.ActiveWageEarner,
        ActiveNonWageEarner = counts.ActiveNonWageEarner,
        Inactive = counts.Inactive,
        InvalidNik = counts.InvalidNik,
        DuplicateInBatch = counts.DuplicateInBatch,
    };

    public static RecipientResult ToApi(RecipientOutcome outcome) => new()
    {
        Offset = outcome.Offset,
        RowId = outcome.RowId,
        Status = outcome.Status,
        InvalidNikReason = outcome.Reason,
    };
}
