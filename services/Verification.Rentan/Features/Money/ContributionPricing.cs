using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;

namespace Verification.Rentan.Features.Money;

/// <summary>One month's BPU contribution of one worker, per program and in total, whole rupiah.</summary>
public sealed record MonthlyContribution(IReadOnlyList<ContributionLine> Lines)
{
    public long Total => Lines.Sum(l => l.TotalRupiah);
}

/// <summary>Why pricing could not answer.</summary>
public sealed class PricingUnavailableException(string message, bool membershipDown, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>True when Membership could not be reached (retry later); false when it has no rates for a month (a data problem).</summary>
    public bool MembershipDown => membershipDown;
}

/// <summary>
/// BPU contributions from Membership's dated rate table, a whole month at a time on the rates in force on its first day.
/// One instance serves one request: quotes are remembered per (programs, income, month), so a list of thousands of
/// workers on the same income asks Membership once per month, and a later request sees a changed table.
/// </summary>
public sealed class ContributionPricing(IMembershipRegistry membership, MinimumDeclaredIncome minimumIncome)
{
    private readonly Dictionary<(string Programs, long Income, int Month), Task<MonthlyContribution>> _quotes = [];

    /// <summary>The declared income an enrolment is priced on: the worker's, else the agreement's, else the minimum in force on the day.</summary>
    public long IncomeFor(long? stated, long agreementIncome, DateOnly day) =>
        stated ?? (agreementIncome > 0 ? agreementIncome : minimumIncome.On(day) ?? throw new PricingUnavailableException("No minimum declared income is in force on that day.", membershipDown: false));

    /// <summary>The contribution for the month containing <paramref name="day"/>.</summary>
    public Task<MonthlyContribution> MonthAsync(IReadOnlyList<Program> programs, long income, DateOnly day, CancellationToken cancellationToken)
    {
        var first = new DateOnly(day.Year, day.Month, 1);
        var key = (Api.ProgramCodes.Join(programs), income, first.Year * 100 + first.Month);
        lock (_quotes)
        {
            if (!_quotes.TryGetValue(key, out var quote) || quote.IsFaulted || quote.IsCanceled) _quotes[key] = quote = QuoteAsync(programs, income, first, cancellationToken);
            return quote;
        }
    }

    /// <summary>What an enrolment commits: every month from <paramref name="start"/>'s to <paramref name="end"/>'s, each whole.</summary>
    public async Task<long> CommitmentAsync(IReadOnlyList<Program> programs, long income, DateOnly start, DateOnly end, CancellationToken cancellationToken)
    {
        var total = 0L;
        for (var month = new DateOnly(start.Year, start.Month, 1); month <= end; month = month.AddMonths(1))
            total += (await MonthAsync(programs, income, month, cancellationToken)).Total;
        return total;
    }

    private async Task<MonthlyContribution> QuoteAsync(IReadOnlyList<Program> programs, long income, DateOnly first, CancellationToken cancellationToken)
    {
        var request = new QuoteContributionRequest
        {
            Segment = Segment.Bpu,
            MonthlyIncomeRupiah = income,
            EffectiveDate = new Date { Year = first.Year, Month = first.Month, Day = 1 },
        };
        request.Programs.Add(programs);
        try
        {
            var quote = await membership.QuoteAsync(request, cancellationToken);
            return new MonthlyContribution([.. quote.Lines]);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            throw new PricingUnavailableException("The participant registry is unavailable.", membershipDown: true, ex);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument)
        {
            throw new PricingUnavailableException($"Membership has no BPU rates for {first:yyyy-MM}.", membershipDown: false, ex);
        }
    }
}
