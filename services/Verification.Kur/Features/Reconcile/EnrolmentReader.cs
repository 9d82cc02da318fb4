using Microsoft.EntityFrameworkCore;
using Verification.Domain;
using Verification.Kur.Data;
using Verification.Kur.Domain;

namespace Verification.Kur.Features.Reconcile;

/// <summary>A bank's enrolment records for reconciliation; claims still waiting for Membership are not records and never show.</summary>
public sealed class EnrolmentReader(KurDbContext db)
{
    public Task<KurEnrolmentRecord?> GetAsync(string bankCode, string loanReference, CancellationToken cancellationToken) =>
        db.Enrolments.AsNoTracking()
            .SingleOrDefaultAsync(e => e.BankCode == bankCode && e.LoanReference == loanReference && e.RecordedAt != null, cancellationToken);

    /// <summary>Records created on the Jakarta days <paramref name="firstDay"/> to <paramref name="lastDay"/>, oldest first.</summary>
    public IAsyncEnumerable<KurEnrolmentRecord> ListAsync(string bankCode, DateOnly firstDay, DateOnly lastDay)
    {
        var from = WibCalendar.StartOf(firstDay);
        var until = WibCalendar.StartOf(lastDay.AddDays(1));
        return db.Enrolments.AsNoTracking()
            .Where(e => e.BankCode == bankCode && e.CreateTime >= from && e.CreateTime < until && e.RecordedAt != null)
            .OrderBy(e => e.CreateTime).ThenBy(e => e.LoanReference)
            .AsAsyncEnumerable();
    }
}
