using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.NonAsn.Data;

/// <summary>An employment's key, and its registration's idempotency key: employer number, NIK digits, contract start.</summary>
public readonly record struct EmploymentKey(string EmployerNumber, string Nik, DateOnly ContractStartDate)
{
    public static EmploymentKey Of(EmploymentRecord record) => new(record.EmployerNumber, record.Nik, record.ContractStartDate);
}

/// <summary>An employer's employments started by a day, in NIK order, and their wage changes effective by then.</summary>
public sealed record EmployerEmployments(IReadOnlyList<EmploymentRecord> Employments, IReadOnlyList<WageChangeRecord> WageChanges);

/// <summary>
/// The NonAsn module's one data path: every read and write of employments, wage changes and their events. Reads are the
/// same query on both providers; writes are the provider's own (<see cref="PostgresEmploymentStore"/>,
/// <see cref="SqliteEmploymentStore"/>). A write commits its events with it, or nothing.
/// </summary>
public abstract class EmploymentStore(NonAsnDbContext db, StaffNikCipher cipher)
{
    protected NonAsnDbContext Db => db;

    protected StaffNikCipher Cipher => cipher;

    /// <summary>The stored employments among <paramref name="keys"/>, by key (one query on the registration key's index).</summary>
    public async Task<IReadOnlyDictionary<EmploymentKey, EmploymentRecord>> FindAsync(IReadOnlyCollection<EmploymentKey> keys, CancellationToken cancellationToken)
    {
        var employers = keys.Select(k => k.EmployerNumber).Distinct(StringComparer.Ordinal).ToList();
        var hashes = keys.Select(k => cipher.Hash(k.Nik)).Distinct(StringComparer.Ordinal).ToList();
        var found = (await db.Employments.AsNoTracking()
            .Where(e => employers.Contains(e.EmployerNumber) && hashes.Contains(e.NikHash))
            .ToListAsync(cancellationToken)).ConvertAll(cipher.Reveal);
        var wanted = keys.ToHashSet();
        return found.Where(e => wanted.Contains(EmploymentKey.Of(e))).ToDictionary(EmploymentKey.Of);
    }

    public async Task<EmploymentRecord?> GetAsync(EmploymentKey key, CancellationToken cancellationToken)
    {
        var hash = cipher.Hash(key.Nik);
        var record = await db.Employments.AsNoTracking().SingleOrDefaultAsync(
            e => e.EmployerNumber == key.EmployerNumber && e.NikHash == hash && e.ContractStartDate == key.ContractStartDate, cancellationToken);
        return record is null ? null : cipher.Reveal(record);
    }

    /// <summary>Every contract of one NIK with one employer number, whatever its state.</summary>
    public async Task<IReadOnlyList<EmploymentRecord>> ContractsAsync(string employerNumber, string nik, CancellationToken cancellationToken)
    {
        var hash = cipher.Hash(nik);
        return (await db.Employments.AsNoTracking().Where(e => e.EmployerNumber == employerNumber && e.NikHash == hash).ToListAsync(cancellationToken))
            .ConvertAll(cipher.Reveal);
    }

    /// <summary>
    /// One employer number's employments ordered by NIK (then contract start); with <paramref name="inForceOn"/>, only those
    /// in force that day. Sorted here: the database holds no order of NIKs, only their hashes.
    /// </summary>
    public async IAsyncEnumerable<EmploymentRecord> ListAsync(string employerNumber, DateOnly? inForceOn, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = db.Employments.AsNoTracking().Where(e => e.EmployerNumber == employerNumber);
        if (inForceOn is { } day)
        {
            query = query.Where(e => e.ContractStartDate <= day
                && (e.State == EmploymentStateKind.Ended
                    ? e.EndDate >= day
                    : e.ContractEndDate == null || e.ContractEndDate >= day));
        }

        var records = (await query.ToListAsync(cancellationToken)).ConvertAll(cipher.Reveal);
        foreach (var record in records.OrderBy(e => e.Nik, StringComparer.Ordinal).ThenBy(e => e.ContractStartDate))
            yield return record;
    }

    /// <summary>What a monthly statement reads: the employer's employments started by <paramref name="lastDay"/> and their wage changes effective by then.</summary>
    public async Task<EmployerEmployments> StartedByAsync(string employerNumber, DateOnly lastDay, CancellationToken cancellationToken)
    {
        var employments = (await db.Employments.AsNoTracking()
            .Where(e => e.EmployerNumber == employerNumber && e.ContractStartDate <= lastDay)
            .ToListAsync(cancellationToken))
            .ConvertAll(cipher.Reveal)
            .OrderBy(e => e.Nik, StringComparer.Ordinal).ThenBy(e => e.ContractStartDate)
            .ToList();
        var changes = await (from change in db.WageChanges.AsNoTracking()
                             join employment in db.Employments on change.EmploymentId equals employment.EmploymentId
                             where employment.EmployerNumber == employerNumber && change.EffectiveDate <= lastDay
                             select change).ToListAsync(cancellationToken);
        return new EmployerEmployments(employments, changes);
    }

    /// <summary>
    /// Inserts new employments and their events together. False when a concurrent registration committed one of the keys
    /// first: then nothing of this call was written.
    /// </summary>
    public abstract Task<bool> TryAddAsync(IReadOnlyList<EmploymentRecord> employments, IReadOnlyList<NonAsnEmployeeRegistered> events, CancellationToken cancellationToken);

    /// <summary>
    /// Saves one employment as changed, the wage change it brings (replacing one from the same day), and its event, together.
    /// False when the employment changed since it was read with <paramref name="readUpdateTime"/>: then nothing was written.
    /// </summary>
    public Task<bool> TryChangeAsync<TEvent>(EmploymentRecord changed, DateTimeOffset readUpdateTime, WageChangeRecord? wageChange, TEvent changeEvent, CancellationToken cancellationToken)
        where TEvent : class, IIntegrationEvent =>
        WriteAsync(() => SaveChangeAsync(changed, readUpdateTime, wageChange, changeEvent, cancellationToken), cancellationToken);

    /// <summary>Runs a write the way this provider queues writers.</summary>
    protected abstract Task<bool> WriteAsync(Func<Task<bool>> write, CancellationToken cancellationToken);

    private async Task<bool> SaveChangeAsync<TEvent>(EmploymentRecord changed, DateTimeOffset readUpdateTime, WageChangeRecord? wageChange, TEvent changeEvent, CancellationToken cancellationToken)
        where TEvent : class, IIntegrationEvent
    {
        try
        {
            var entry = db.Employments.Attach(changed);
            entry.State = EntityState.Modified;
            // The concurrency token: of two concurrent changes to one employment, the second finds it changed.
            entry.Property(e => e.UpdateTime).OriginalValue = readUpdateTime;
            if (wageChange is not null)
            {
                var sameDay = await db.WageChanges.SingleOrDefaultAsync(
                    c => c.EmploymentId == wageChange.EmploymentId && c.EffectiveDate == wageChange.EffectiveDate, cancellationToken);
                if (sameDay is null) db.WageChanges.Add(wageChange);
                else sameDay.MonthlyWage = wageChange.MonthlyWage;
            }

            db.AddOutboxEvent(changeEvent);
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }
}
