using Verification.Domain;
using Verification.Kur.Data;

namespace Verification.Kur.Features.Reconcile;

/// <summary>A bank's enrolment records for reconciliation; claims still waiting for Membership are not records and never show.</summary>
public sealed class EnrolmentReader(KurStore store)
{
    public async Task<KurEnrolmentRecord?> GetAsync(string bankCode, string loanReference, CancellationToken cancellationToken) =>
        await store.FindAsync(bankCode, loanReference, cancellationToken) is { RecordedAt: not null } record ? record : null;

    /// <summary>Records created on the Jakarta days <paramref name="firstDay"/> to <paramref name="lastDay"/>, oldest first.</summary>
    public IAsyncEnumerable<KurEnrolmentRecord> ListAsync(string bankCode, DateOnly firstDay, DateOnly lastDay) =>
        store.ListRecordsAsync(bankCode, WibCalendar.StartOf(firstDay), WibCalendar.StartOf(lastDay.AddDays(1)));
}
