using Microsoft.EntityFrameworkCore;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Kur.Data;

/// <summary>
/// KUR's records on SQLite through EF Core, every write behind the platform's write gate; the answer's condition that the
/// claim is still unanswered is <see cref="KurEnrolmentRecord.RecordedAt"/> as the concurrency token.
/// </summary>
internal sealed class SqliteKurStore(KurDbContext db) : KurStore(db)
{
    public override Task<KurEnrolmentRecord?> FindAsync(string bankCode, string loanReference, CancellationToken cancellationToken) =>
        Db.Enrolments.AsNoTracking().SingleOrDefaultAsync(e => e.BankCode == bankCode && e.LoanReference == loanReference, cancellationToken);

    public override async Task<bool> TryInsertAsync(KurEnrolmentRecord record, OutboxMessage? answered, CancellationToken cancellationToken)
    {
        Db.Enrolments.Add(record);
        if (answered is not null) Db.OutboxMessages.Add(answered);
        var gate = await EnterWriteGateAsync(cancellationToken);
        try
        {
            await Db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            return false;
        }
        finally
        {
            Db.ChangeTracker.Clear();
            gate?.Release();
        }
    }

    public override async Task<bool> TryAnswerAsync(KurEnrolmentRecord claim, ClaimAnswer answer, OutboxMessage answered, CancellationToken cancellationToken)
    {
        Db.ChangeTracker.Clear();
        Db.Enrolments.Attach(claim);
        answer.ApplyTo(claim);
        Db.OutboxMessages.Add(answered);
        var gate = await EnterWriteGateAsync(cancellationToken);
        try
        {
            await Db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            // Nothing of this attempt was written.
            return false;
        }
        finally
        {
            Db.ChangeTracker.Clear();
            gate?.Release();
        }
    }

    protected override Task<SemaphoreSlim?> EnterWriteGateAsync(CancellationToken cancellationToken) => Db.EnterWriteGateAsync(cancellationToken);
}
