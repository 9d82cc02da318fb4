using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.NonAsn.Data;

/// <summary>SQLite (monolithic mode): EF Core, with this process's writers of the file queued at its write gate.</summary>
public sealed class SqliteEmploymentStore(NonAsnDbContext db, StaffNikCipher cipher) : EmploymentStore(db, cipher)
{
    public override Task<bool> TryAddAsync(IReadOnlyList<EmploymentRecord> employments, IReadOnlyList<NonAsnEmployeeRegistered> events, CancellationToken cancellationToken) =>
        WriteAsync(async () =>
        {
            try
            {
                foreach (var employment in employments) Cipher.Protect(employment);
                Db.Employments.AddRange(employments);
                foreach (var registered in events) Db.AddOutboxEvent(registered);
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
            }
        }, cancellationToken);

    protected override async Task<bool> WriteAsync(Func<Task<bool>> write, CancellationToken cancellationToken)
    {
        var gate = await Db.EnterWriteGateAsync(cancellationToken)
            ?? throw new InvalidOperationException("The SQLite employment store runs on a SQLite database only.");
        try
        {
            return await write();
        }
        finally
        {
            gate.Release();
        }
    }
}
