using Microsoft.EntityFrameworkCore;
using Verification.Kur.Domain;
using Verification.Platform.Outbox;

namespace Verification.Kur.Data;

/// <summary>Membership's answer to a claim, as the record keeps it.</summary>
public readonly record struct ClaimAnswer(
    EnrolmentOutcomeKind Outcome,
    string Programs,
    string? ParticipantNumber,
    long? MonthlyContributionRupiah,
    DateOnly? FirstDueDate,
    DateTimeOffset RecordedAt)
{
    public void ApplyTo(KurEnrolmentRecord record)
    {
        record.Outcome = Outcome;
        record.Programs = Programs;
        record.ParticipantNumber = ParticipantNumber;
        record.MonthlyContributionRupiah = MonthlyContributionRupiah;
        record.FirstDueDate = FirstDueDate;
        record.RecordedAt = RecordedAt;
    }
}

/// <summary>Who cancels, why, when, and the last day of coverage asked of Membership.</summary>
public readonly record struct CancellationTerms(CancellationReasonKind Reason, string MemberCode, DateTimeOffset CancelTime, DateOnly EndDate);

/// <summary>Records of one bank, scheme, Jakarta month, outcome and cancellation, counted.</summary>
public readonly record struct RecordCount(int CreateMonth, LoanScheme Scheme, EnrolmentOutcomeKind Outcome, bool Cancelled, long Count);

/// <summary>
/// KUR's enrolment records, one row per (bank code, loan reference): a claim while <see cref="KurEnrolmentRecord.RecordedAt"/>
/// is null, a record once answered. Each write commits with its event's outbox row, or not at all. The enrolment's
/// three calls are each provider's own (<see cref="PostgresKurStore"/>: one hand-written statement each;
/// <see cref="SqliteKurStore"/>: EF Core behind the write gate); the colder reads and writes are EF Core's on both.
/// </summary>
/// <remarks>Per key, so that a set-based claim of many keys can join them as one statement later.</remarks>
public abstract class KurStore(KurDbContext db)
{
    protected KurDbContext Db => db;

    /// <summary>The row of one key (a claim or a record), or null.</summary>
    public abstract Task<KurEnrolmentRecord?> FindAsync(string bankCode, string loanReference, CancellationToken cancellationToken);

    /// <summary>Inserts a claim, or a complete record with its event; false when the key is taken (nothing written).</summary>
    public abstract Task<bool> TryInsertAsync(KurEnrolmentRecord record, OutboxMessage? answered, CancellationToken cancellationToken);

    /// <summary>
    /// Records the answer on a claim that is still unanswered, with its event; on success <paramref name="claim"/> holds the
    /// answer. False when a concurrent retry answered it first (nothing of this attempt written).
    /// </summary>
    public abstract Task<bool> TryAnswerAsync(KurEnrolmentRecord claim, ClaimAnswer answer, OutboxMessage answered, CancellationToken cancellationToken);

    /// <summary>Deletes a claim that is still unanswered (Membership refused the enrolment); a record is never deleted.</summary>
    public async Task ReleaseClaimAsync(KurEnrolmentRecord claim, CancellationToken cancellationToken)
    {
        var gate = await EnterWriteGateAsync(cancellationToken);
        try
        {
            await db.Enrolments
                .Where(e => e.BankCode == claim.BankCode && e.LoanReference == claim.LoanReference && e.RecordedAt == null)
                .ExecuteDeleteAsync(cancellationToken);
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>Fixes the cancellation's terms on an active record (CANCELLING); a record in any other state is left as it is.</summary>
    public async Task StartCancellationAsync(KurEnrolmentRecord record, CancellationTerms terms, CancellationToken cancellationToken)
    {
        var gate = await EnterWriteGateAsync(cancellationToken);
        try
        {
            await db.Enrolments
                .Where(e => e.BankCode == record.BankCode && e.LoanReference == record.LoanReference && e.State == EnrolmentRecordState.Active)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(e => e.State, EnrolmentRecordState.Cancelling)
                    .SetProperty(e => e.CancelReason, terms.Reason)
                    .SetProperty(e => e.CancelMemberCode, terms.MemberCode)
                    .SetProperty(e => e.CancelTime, terms.CancelTime)
                    .SetProperty(e => e.CancelEndDate, terms.EndDate),
                    cancellationToken);
        }
        finally
        {
            gate?.Release();
        }
    }

    /// <summary>
    /// Turns a record in state <paramref name="from"/> CANCELLED with its event, in one transaction; false when a concurrent
    /// request did first (nothing written).
    /// </summary>
    public async Task<bool> TryFinishCancellationAsync(
        KurEnrolmentRecord record, EnrolmentRecordState from, CancellationTerms terms, string endedPrograms, OutboxMessage cancelled,
        CancellationToken cancellationToken)
    {
        var gate = await EnterWriteGateAsync(cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var finished = await db.Enrolments
                .Where(e => e.BankCode == record.BankCode && e.LoanReference == record.LoanReference && e.State == from)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(e => e.State, EnrolmentRecordState.Cancelled)
                    .SetProperty(e => e.CancelReason, terms.Reason)
                    .SetProperty(e => e.CancelMemberCode, terms.MemberCode)
                    .SetProperty(e => e.CancelTime, terms.CancelTime)
                    .SetProperty(e => e.CancelEndDate, terms.EndDate)
                    .SetProperty(e => e.EndedPrograms, endedPrograms),
                    cancellationToken);
            if (finished != 1)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }

            db.OutboxMessages.Add(cancelled);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }
        finally
        {
            db.ChangeTracker.Clear();
            gate?.Release();
        }
    }

    /// <summary>A bank's records (never claims) created from <paramref name="from"/> until before <paramref name="until"/>, oldest first.</summary>
    public IAsyncEnumerable<KurEnrolmentRecord> ListRecordsAsync(string bankCode, DateTimeOffset from, DateTimeOffset until) =>
        db.Enrolments.AsNoTracking()
            .Where(e => e.BankCode == bankCode && e.CreateTime >= from && e.CreateTime < until && e.RecordedAt != null)
            .OrderBy(e => e.CreateTime).ThenBy(e => e.LoanReference)
            .AsAsyncEnumerable();

    /// <summary>A bank's records (never claims) of the months <paramref name="firstMonth"/> to <paramref name="lastMonth"/> (yyyyMM), counted in the database.</summary>
    public async Task<IReadOnlyList<RecordCount>> CountRecordsAsync(
        string bankCode, int firstMonth, int lastMonth, LoanScheme? scheme, CancellationToken cancellationToken)
    {
        var records = db.Enrolments.AsNoTracking()
            .Where(e => e.BankCode == bankCode && e.RecordedAt != null && e.CreateMonth >= firstMonth && e.CreateMonth <= lastMonth);
        if (scheme is { } only) records = records.Where(e => e.Scheme == only);
        var counts = await records
            .GroupBy(e => new { e.CreateMonth, e.Scheme, e.Outcome, Cancelled = e.State == EnrolmentRecordState.Cancelled })
            .Select(g => new { g.Key.CreateMonth, g.Key.Scheme, g.Key.Outcome, g.Key.Cancelled, Count = g.LongCount() })
            .ToListAsync(cancellationToken);
        return [.. counts.Select(c => new RecordCount(c.CreateMonth, c.Scheme, c.Outcome, c.Cancelled, c.Count))];
    }

    /// <summary>Queues this process's writers of the database where the provider needs it; null where its own locks do.</summary>
    protected virtual Task<SemaphoreSlim?> EnterWriteGateAsync(CancellationToken cancellationToken) => Task.FromResult<SemaphoreSlim?>(null);
}
