using Microsoft.EntityFrameworkCore;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.NonAsn.Data;
using Grpc.Core;

namespace Verification.NonAsn.Features.Statement;

/// <summary>One employee's month: the wage it was computed on and one line per program.</summary>
public sealed record EmployeeMonth(EmploymentRecord Employment, long MonthlyWage, IReadOnlyList<ContributionLine> Lines)
{
    public long Total => Lines.Sum(l => l.TotalRupiah);
}

/// <summary>How a statement request ended.</summary>
public abstract record StatementResult
{
    /// <summary>The employees ordered by NIK (then contract start).</summary>
    public sealed record Computed(IReadOnlyList<EmployeeMonth> Employees) : StatementResult;

    /// <summary>Membership has no rates for the month (e.g. before the tables begin); the message says so.</summary>
    public sealed record NoRates(string Message) : StatementResult;

    public sealed record MembershipUnavailable : StatementResult;
}

/// <summary>
/// The contributions of one employer number for a month, from Membership's dated rates. Every employment in force on any
/// day of the month counts for the whole month, on the wage in effect on its first day in force that month. Employees
/// with the same wage, programs and risk class share one quote, so a statement asks Membership once per distinct
/// combination rather than once per employee.
/// </summary>
public sealed class ContributionStatement(NonAsnDbContext db, IMembershipRegistry membership)
{
    /// <summary>Quotes asked of Membership at once.</summary>
    public const int QuotesInFlight = 8;

    public async Task<StatementResult> ComputeAsync(string employerNumber, int year, int month, CancellationToken cancellationToken)
    {
        var first = new DateOnly(year, month, 1);
        var last = first.AddMonths(1).AddDays(-1);
        var employments = (await db.Employments.AsNoTracking()
                .Where(e => e.EmployerNumber == employerNumber && e.ContractStartDate <= last)
                .OrderBy(e => e.Nik).ThenBy(e => e.ContractStartDate)
                .ToListAsync(cancellationToken))
            .Where(e => e.LastDay is not { } end || end >= first)
            .ToList();
        var changes = (await (from change in db.WageChanges.AsNoTracking()
                              join employment in db.Employments on change.EmploymentId equals employment.EmploymentId
                              where employment.EmployerNumber == employerNumber && change.EffectiveDate <= last
                              select change).ToListAsync(cancellationToken))
            .ToLookup(c => c.EmploymentId);

        var months = employments.Select(e => (Employment: e, Wage: WageInEffect(e, changes[e.EmploymentId], first))).ToList();
        var quotes = new Dictionary<(long, string, int), Task<QuoteContributionResponse>>();
        using var slots = new SemaphoreSlim(QuotesInFlight);
        foreach (var (employment, wage) in months)
        {
            var key = (wage, employment.Programs, employment.JkkRiskClass);
            if (!quotes.ContainsKey(key)) quotes[key] = QuoteAsync(key, first, slots, cancellationToken);
        }

        try
        {
            await Task.WhenAll(quotes.Values);
        }
        catch (RpcException)
        {
            // Examined below.
        }

        var failure = quotes.Values.Select(t => t.Exception?.InnerException).OfType<RpcException>().FirstOrDefault();
        if (failure is not null)
        {
            if (MembershipRegistry.IsTransient(failure)) return new StatementResult.MembershipUnavailable();
            if (failure.StatusCode == StatusCode.InvalidArgument) return new StatementResult.NoRates("The registry has no contribution rates in force for this month.");
            throw MembershipRegistry.Unexpected("QuoteContribution", failure);
        }

        return new StatementResult.Computed([.. months.Select(m => new EmployeeMonth(
            m.Employment, m.Wage, [.. quotes[(m.Wage, m.Employment.Programs, m.Employment.JkkRiskClass)].Result.Lines]))]);
    }

    /// <summary>The wage on the employment's first day in force in the month: the latest change in effect then, else the registered wage.</summary>
    public static long WageInEffect(EmploymentRecord employment, IEnumerable<WageChangeRecord> changes, DateOnly firstOfMonth)
    {
        var day = employment.ContractStartDate > firstOfMonth ? employment.ContractStartDate : firstOfMonth;
        return changes.Where(c => c.EffectiveDate <= day).MaxBy(c => c.EffectiveDate)?.MonthlyWage ?? employment.RegisteredMonthlyWage;
    }

    /// <summary>Sums employee lines per program (in program order) into the statement's totals.</summary>
    public static StatementTotals Totals(IReadOnlyList<EmployeeMonth> employees)
    {
        var totals = new StatementTotals { EmployeeCount = employees.Count };
        foreach (var group in employees.SelectMany(e => e.Lines).GroupBy(l => l.Program).OrderBy(g => g.Key))
        {
            totals.Lines.Add(new ContributionLine
            {
                Program = group.Key,
                EmployerShareRupiah = group.Sum(l => l.EmployerShareRupiah),
                WorkerShareRupiah = group.Sum(l => l.WorkerShareRupiah),
                FundedElsewhereRupiah = group.Sum(l => l.FundedElsewhereRupiah),
                TotalRupiah = group.Sum(l => l.TotalRupiah),
            });
        }

        totals.EmployerTotalRupiah = totals.Lines.Sum(l => l.EmployerShareRupiah);
        totals.WorkerTotalRupiah = totals.Lines.Sum(l => l.WorkerShareRupiah);
        totals.TotalRupiah = totals.EmployerTotalRupiah + totals.WorkerTotalRupiah;
        return totals;
    }

    private async Task<QuoteContributionResponse> QuoteAsync((long Wage, string Programs, int RiskClass) key, DateOnly first, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        try
        {
            var request = new QuoteContributionRequest
            {
                Segment = Segment.Pu,
                MonthlyIncomeRupiah = key.Wage,
                JkkRiskClass = (JkkRiskClass)key.RiskClass,
                EffectiveDate = new Date { Year = first.Year, Month = first.Month, Day = first.Day },
            };
            request.Programs.Add(ProgramCodes.Split(key.Programs));
            return await membership.QuoteAsync(request, cancellationToken);
        }
        finally
        {
            slots.Release();
        }
    }
}
