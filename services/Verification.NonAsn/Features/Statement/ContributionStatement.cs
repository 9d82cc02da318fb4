using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.NonAsn.Data;
using Grpc.Core;

namespace Verification.NonAsn.Features.Statement;

/// <summary>One program's contribution in whole rupiah; <paramref name="Total"/> is what is billed (employer + worker share).</summary>
public sealed record ProgramContribution(Program Program, long EmployerShare, long WorkerShare, long FundedElsewhere, long Total);

/// <summary>One employee's month: the wage it was computed on and one line per program.</summary>
public sealed record EmployeeMonth(EmploymentRecord Employment, long MonthlyWage, IReadOnlyList<ProgramContribution> Lines)
{
    public long Total => Lines.Sum(l => l.Total);
}

/// <summary>A statement's totals: per program (in program order) summed over its employees, and overall.</summary>
public sealed record StatementTotals(int EmployeeCount, IReadOnlyList<ProgramContribution> Lines, long EmployerTotal, long WorkerTotal)
{
    public long Total => EmployerTotal + WorkerTotal;
}

/// <summary>How a statement request ended.</summary>
public abstract record StatementResult
{
    /// <summary>The employees ordered by NIK (then contract start), and their totals.</summary>
    public sealed record Computed(IReadOnlyList<EmployeeMonth> Employees, StatementTotals Totals) : StatementResult;

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
public sealed class ContributionStatement(EmploymentStore employments, IMembershipRegistry membership)
{
    /// <summary>Quotes asked of Membership at once.</summary>
    public const int QuotesInFlight = 8;

    public async Task<StatementResult> ComputeAsync(string employerNumber, int year, int month, CancellationToken cancellationToken)
    {
        var first = new DateOnly(year, month, 1);
        var last = first.AddMonths(1).AddDays(-1);
        var started = await employments.StartedByAsync(employerNumber, last, cancellationToken);
        var changes = started.WageChanges.ToLookup(c => c.EmploymentId);
        var months = started.Employments
            .Where(e => e.LastDay is not { } end || end >= first)
            .Select(e => (Employment: e, Wage: WageInEffect(e, changes[e.EmploymentId], first))).ToList();
        var quotes = new Dictionary<(long, string, int), Task<IReadOnlyList<ProgramContribution>>>();
        using var slots = new SemaphoreSlim(QuotesInFlight);
        foreach (var (employment, wage) in months)
        {
            var key = (wage, employment.Programs, employment.JkkRiskClass);
#pragma warning disable CA2025 // Task.WhenAll below returns only once every quote has ended, before the slots are disposed.
            if (!quotes.ContainsKey(key)) quotes[key] = QuoteAsync(key, first, slots, cancellationToken);
#pragma warning restore CA2025
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

        List<EmployeeMonth> employees = [.. months.Select(m => new EmployeeMonth(
            m.Employment, m.Wage, quotes[(m.Wage, m.Employment.Programs, m.Employment.JkkRiskClass)].Result))];
        return new StatementResult.Computed(employees, Totals(employees));
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
        var lines = employees.SelectMany(e => e.Lines).GroupBy(l => l.Program).OrderBy(g => g.Key)
            .Select(g => new ProgramContribution(g.Key, g.Sum(l => l.EmployerShare), g.Sum(l => l.WorkerShare), g.Sum(l => l.FundedElsewhere), g.Sum(l => l.Total)))
            .ToList();
        return new StatementTotals(employees.Count, lines, lines.Sum(l => l.EmployerShare), lines.Sum(l => l.WorkerShare));
    }

    private async Task<IReadOnlyList<ProgramContribution>> QuoteAsync((long Wage, string Programs, int RiskClass) key, DateOnly first, SemaphoreSlim slots, CancellationToken cancellationToken)
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
            var quote = await membership.QuoteAsync(request, cancellationToken);
            return [.. quote.Lines.Select(l => new ProgramContribution(l.Program, l.EmployerShareRupiah, l.WorkerShareRupiah, l.FundedElsewhereRupiah, l.TotalRupiah))];
        }
        finally
        {
            slots.Release();
        }
    }
}
