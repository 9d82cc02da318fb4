using Microsoft.AspNetCore.Html;
using Verification.Api.Prakerja.V1;
using Verification.Portal.Charts;
using Verification.Portal.Text;

namespace Verification.Portal.Pages.Prakerja;

/// <summary>One batch: live progress (polled by portal.js), totals per cohort as a chart and a table, and the resumable results download.</summary>
public sealed class BatchModel(PortalText text) : PortalPage
{
    public Batch Batch { get; private set; } = null!;

    public async Task OnGetAsync(string id)
    {
        Batch = (await Calls.Prakerja.GetBatchAsync(new GetBatchRequest { BatchId = id }, cancellationToken: Aborted)).Batch;
        Session.Remember(Batch.BatchId);
    }

    public bool Finished => Batch.State is BatchState.Completed or BatchState.Failed or BatchState.Expired;

    public static IReadOnlyList<(string Key, Func<RecipientTotals, long> Count)> Statuses { get; } =
    [
        ("RecipientStatus_ActiveWageEarner", t => t.ActiveWageEarner),
        ("RecipientStatus_ActiveNonWageEarner", t => t.ActiveNonWageEarner),
        ("RecipientStatus_Inactive", t => t.Inactive),
        ("RecipientStatus_NotRegistered", t => t.NotRegistered),
        ("RecipientStatus_InvalidNik", t => t.InvalidNik),
        ("RecipientStatus_DuplicateInBatch", t => t.DuplicateInBatch),
    ];

    public string CohortName(string cohort) => cohort.Length == 0 ? text["NoCohort"] : cohort;

    public IHtmlContent CohortChart() => BarChart.Stacked("cohort-chart", text["CohortChartTitle"],
        Batch.CohortTotals.Select(c => CohortName(c.Cohort)).ToList(),
        Statuses.Select(s => new ChartSeries(text[s.Key], Batch.CohortTotals.Select(c => s.Count(c.Totals)).ToList())).ToList(),
        text.Number);
}
