using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Portal.Charts;
using Verification.Portal.Text;

namespace Verification.Portal.Pages.Kur;

/// <summary>KUR's coverage report for the bank by month and scheme, as a chart and a table.</summary>
public sealed class CoverageModel(PortalText text) : PortalPage
{
    [BindProperty(SupportsGet = true, Name = "dari")]
    public string? From { get; set; }

    [BindProperty(SupportsGet = true, Name = "sampai")]
    public string? To { get; set; }

    [BindProperty(SupportsGet = true, Name = "skema")]
    public KurScheme Scheme { get; set; }

    public IReadOnlyList<CoverageReportRow> Rows { get; private set; } = [];

    public List<(int Year, int Month)> Months { get; } = [];

    public async Task OnGetAsync()
    {
        var end = ParseMonth(To) ?? new YearMonth { Year = Today.Year, Month = Today.Month };
        var start = ParseMonth(From) ?? Shift(end, -11);
        From = $"{start.Year:D4}-{start.Month:D2}";
        To = $"{end.Year:D4}-{end.Month:D2}";
        for (var m = start; (m.Year * 12) + m.Month <= (end.Year * 12) + end.Month && Months.Count < 36; m = Shift(m, 1)) Months.Add((m.Year, m.Month));
        await TryAsync(async () => Rows = (await Calls.Kur.GetCoverageReportAsync(new GetCoverageReportRequest
        {
            StartMonth = start,
            EndMonth = end,
            Scheme = Scheme,
        }, cancellationToken: Aborted)).Rows);
    }

    private static YearMonth Shift(YearMonth month, int by)
    {
        var index = (month.Year * 12) + month.Month - 1 + by;
        return new YearMonth { Year = index / 12, Month = (index % 12) + 1 };
    }

    private long Sum((int Year, int Month) month, Func<CoverageReportRow, long> value) =>
        Rows.Where(r => r.Month.Year == month.Year && r.Month.Month == month.Month).Sum(value);

    public IHtmlContent Chart() => BarChart.Stacked("coverage-chart", text["CoverageChartTitle"],
        Months.Select(m => text.Month(m.Month)[..3] + " " + (m.Year % 100).ToString("00", System.Globalization.CultureInfo.InvariantCulture)).ToList(),
        [
            new ChartSeries(text["NewlyEnrolled"], Months.Select(m => Sum(m, r => r.NewlyEnrolled)).ToList()),
            new ChartSeries(text["AlreadyCovered"], Months.Select(m => Sum(m, r => r.AlreadyCovered)).ToList()),
        ],
        text.Number);
}
