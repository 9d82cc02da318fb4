using System.Runtime.CompilerServices;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Rentan.Data;

namespace Verification.Rentan.Features.Money;

/// <summary>One worker's line of a month's invoice.</summary>
public sealed record InvoiceItem(SponsorshipRecord Sponsorship, MonthlyContribution Contribution);

/// <summary>How an invoice request ended.</summary>
public abstract record InvoiceResult
{
    /// <summary>Priced: the lines are read with <see cref="Invoice.LinesAsync"/>.</summary>
    public sealed record Priced(AgreementRecord Agreement, DateOnly Month, IReadOnlyDictionary<long, MonthlyContribution> ByIncome) : InvoiceResult;

    public sealed record AgreementNotFound : InvoiceResult;

    public sealed record MembershipUnavailable : InvoiceResult;

    public sealed record NoRates(string Message) : InvoiceResult;
}

/// <summary>
/// A sponsor's invoice for a month: every worker of the year's agreement covered on any day of it, billed the whole month
/// at the BPU rates in force on its first day (Membership's dated table). Workers on the same income share one quote,
/// asked before the first line is sent, so a failure never leaves a half-sent invoice; the lines then stream from the
/// database without being held.
/// </summary>
public sealed class Invoice(RentanStore store, IMembershipRegistry membership, MinimumDeclaredIncome minimumIncome)
{
    public async Task<InvoiceResult> PriceAsync(string sponsorCode, int year, int month, CancellationToken cancellationToken)
    {
        var agreement = await store.FindAgreementAsync(AgreementRecord.IdOf(sponsorCode, year), cancellationToken);
        if (agreement is null) return new InvoiceResult.AgreementNotFound();
        var first = new DateOnly(year, month, 1);
        var pricing = new ContributionPricing(membership, minimumIncome);
        var programs = ProgramCodes.Split(agreement.Programs);
        var byIncome = new Dictionary<long, MonthlyContribution>();
        try
        {
            foreach (var income in await store.IncomesAsync(agreement.AgreementId, first, cancellationToken))
                byIncome[income] = await pricing.MonthAsync(programs, income, first, cancellationToken);
        }
        catch (PricingUnavailableException ex) when (ex.MembershipDown)
        {
            return new InvoiceResult.MembershipUnavailable();
        }
        catch (PricingUnavailableException ex)
        {
            return new InvoiceResult.NoRates(ex.Message);
        }

        return new InvoiceResult.Priced(agreement, first, byIncome);
    }

    /// <summary>The invoice's lines, in a stable order (the NIK's keyed hash).</summary>
    public async IAsyncEnumerable<InvoiceItem> LinesAsync(InvoiceResult.Priced priced, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var sponsorship in store.WorkersAsync(priced.Agreement.AgreementId, priced.Month, cancellationToken))
            yield return new InvoiceItem(sponsorship, priced.ByIncome[sponsorship.DeclaredIncome]);
    }

    /// <summary>Adds a line's programs into the running totals, per program.</summary>
    public static void AddTo(SortedDictionary<Program, ContributionLine> totals, MonthlyContribution contribution)
    {
        foreach (var line in contribution.Lines)
        {
            if (!totals.TryGetValue(line.Program, out var sum)) totals[line.Program] = sum = new ContributionLine { Program = line.Program };
            sum.EmployerShareRupiah += line.EmployerShareRupiah;
            sum.WorkerShareRupiah += line.WorkerShareRupiah;
            sum.FundedElsewhereRupiah += line.FundedElsewhereRupiah;
            sum.TotalRupiah += line.TotalRupiah;
        }
    }
}
