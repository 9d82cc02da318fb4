using Verification.Domain;
using Verification.Kur.Data;
using Verification.Kur.Domain;

namespace Verification.Kur.Features.Report;

/// <summary>One row of the coverage report: one bank, scheme and Jakarta month.</summary>
public sealed record CoverageReportLine(string BankCode, LoanScheme Scheme, int Year, int Month, long BorrowersSeen, long AlreadyCovered, long NewlyEnrolled, long Cancelled);

/// <summary>
/// Per bank, scheme and month of creation: borrowers seen, already covered, newly enrolled (cancelled records counted
/// apart) — the figure the ministries track. Counted in the database, never by loading records.
/// </summary>
public sealed class CoverageReport(KurStore store)
{
    public async Task<IReadOnlyList<CoverageReportLine>> BuildAsync(
        string bankCode, (int Year, int Month) first, (int Year, int Month) last, LoanScheme? scheme, CancellationToken cancellationToken)
    {
        var firstMonth = WibCalendar.MonthKey(first.Year, first.Month);
        var lastMonth = WibCalendar.MonthKey(last.Year, last.Month);
        var counts = await store.CountRecordsAsync(bankCode, firstMonth, lastMonth, scheme, cancellationToken);

        return counts
            .GroupBy(c => (c.CreateMonth, c.Scheme))
            .Select(g =>
            {
                var alreadyCovered = g.Where(c => !c.Cancelled && c.Outcome == EnrolmentOutcomeKind.AlreadyCovered).Sum(c => c.Count);
                var enrolled = g.Where(c => !c.Cancelled && c.Outcome == EnrolmentOutcomeKind.Enrolled).Sum(c => c.Count);
                var cancelled = g.Where(c => c.Cancelled).Sum(c => c.Count);
                return new CoverageReportLine(bankCode, g.Key.Scheme, g.Key.CreateMonth / 100, g.Key.CreateMonth % 100, alreadyCovered + enrolled, alreadyCovered, enrolled, cancelled);
            })
            .OrderBy(l => l.Year).ThenBy(l => l.Month).ThenBy(l => l.Scheme)
            .ToList();
    }
}
