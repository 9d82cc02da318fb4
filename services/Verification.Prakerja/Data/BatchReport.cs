using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Data;

/// <summary>A batch as stored, with the totals of its cohorts.</summary>
public sealed record BatchReport(CrossCheckBatch Batch, IReadOnlyList<BatchCohort> Cohorts)
{
    /// <summary>The batch's totals: the sum of its cohorts'.</summary>
    public RecipientCounts Totals()
    {
        var totals = new RecipientCounts();
        foreach (var cohort in Cohorts) totals.Add(cohort.Counts());
        return totals;
    }
}
