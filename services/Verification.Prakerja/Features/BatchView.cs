using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;
using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Features;

/// <summary>A stored batch as the API shows it.</summary>
public static class BatchView
{
    public static RecipientCounts Counts(BatchCohort cohort) => new()
    {
        Recipients = cohort.Recipients,
        NotRegistered = cohort.NotRegistered,
        ActiveWageEarner = cohort.ActiveWageEarner,
        ActiveNonWageEarner = cohort.ActiveNonWageEarner,
        Inactive = cohort.Inactive,
        InvalidNik = cohort.InvalidNik,
        DuplicateInBatch = cohort.DuplicateInBatch,
    };

    public static BatchState ToApi(BatchLifecycle state) => state switch
    {
        BatchLifecycle.Pending => BatchState.Pending,
        BatchLifecycle.Running => BatchState.Running,
        BatchLifecycle.Completed => BatchState.Completed,
        BatchLifecycle.Failed => BatchState.Failed,
        BatchLifecycle.Expired => BatchState.Expired,
        _ => BatchState.Unspecified,
    };

    public static Batch ToApi(CrossCheckBatch batch, IReadOnlyList<BatchCohort> cohorts)
    {
        var totals = new RecipientCounts();
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
        };
        foreach (var cohort in cohorts.OrderBy(c => c.Cohort, StringComparer.Ordinal))
        {
            var counts = Counts(cohort);
            totals.Add(counts);
            view.Cohorts.Add(cohort.Cohort);
            view.CohortTotals.Add(new CohortTotals { Cohort = cohort.Cohort, Totals = counts.ToApi() });
        }

        view.Totals = totals.ToApi();
        return view;
    }
}
