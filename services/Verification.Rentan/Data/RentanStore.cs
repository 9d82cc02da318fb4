using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Rentan.Data;

/// <summary>A sponsorship the December update looked at: the worker, their row in the extract (null: absent), and any sponsorship of the person next year.</summary>
public sealed record RenewalCandidate(SponsorshipRecord Sponsorship, short? ExtractDecile, string? ExtractRegency, SponsorshipRecord? NextYear);

/// <summary>One line of the December report: a worker of the year, the extract's decile (null: absent) and the renewal, if any.</summary>
public sealed record RenewalReportRow(SponsorshipRecord Sponsorship, short? ExtractDecile, SponsorshipRecord? Renewal);

/// <summary>What an enrolment asks Membership to confirm: the claim, and what Membership answered.</summary>
public sealed record Confirmation(string SponsorshipId, string ParticipantNumber, string StartedPrograms);

/// <summary>How a budget claim of many sponsorships ended, each in the order given.</summary>
public sealed record ClaimResult(
    IReadOnlyList<SponsorshipRecord> Claimed,
    IReadOnlyList<(SponsorshipRecord Sponsorship, long Remaining)> Exhausted,
    IReadOnlyList<SponsorshipRecord> Taken,
    long RemainingAfter);

/// <summary>An agreement's budget figures beside the row: pending claims and confirmed workers.</summary>
public sealed record AgreementFigures(AgreementRecord Agreement, long Pending, long Workers);

/// <summary>
/// The Rentan module's one data path. Each unit of work rents a context of its own, so chunks in flight and background
/// work share the store. What reads the same on both providers is EF Core's, here; the bulk writes (an extract's rows,
/// a list's budget claims, confirmations, the December decisions) are the provider's own: hand-written SQL with array
/// parameters and binary COPY on PostgreSQL (<see cref="PostgresRentanStore"/>), EF Core behind the write gate on SQLite
/// (<see cref="SqliteRentanStore"/>). A write commits its events with it, or nothing.
/// </summary>
/// <remarks>
/// The budget: every change of an agreement's committed amount happens in a unit of work holding the agreement's row lock
/// (<c>FOR UPDATE</c> on PostgreSQL, the write gate on SQLite), and the table's CHECK refuses any commit above the budget.
/// </remarks>
public abstract class RentanStore(DbContextOptions<RentanDbContext> options, WorkerNikCipher cipher)
{
    private readonly PooledDbContextFactory<RentanDbContext> _contexts = new(options);

    /// <summary>Every NIK goes in hashed and sealed and comes out revealed through it.</summary>
    protected WorkerNikCipher Cipher => cipher;

    /// <summary>NIKs per set lookup.</summary>
    public const int LookupChunk = 1000;

    // ---- sponsors and agreements

    public async Task<SponsorRecord?> FindSponsorAsync(string sponsorCode, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        return await db.Sponsors.AsNoTracking().SingleOrDefaultAsync(s => s.SponsorCode == sponsorCode, cancellationToken);
    }

    /// <summary>Inserts or replaces the sponsor with its event; false when a concurrent registration of the same new sponsor came first.</summary>
    public Task<bool> SaveSponsorAsync(SponsorRecord sponsor, bool isNew, RentanSponsorSaved saved, CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            if (isNew) db.Sponsors.Add(sponsor);
            else db.Sponsors.Update(sponsor);
            db.AddOutboxEvent(saved);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return true;
            }
            catch (DbUpdateException ex) when (Platform.Data.ModuleWrites.IsUniqueViolation(ex))
            {
                return false;
            }
        }, cancellationToken);

    public async Task<AgreementRecord?> FindAgreementAsync(string agreementId, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        return await db.Agreements.AsNoTracking().SingleOrDefaultAsync(a => a.AgreementId == agreementId, cancellationToken);
    }

    /// <summary>The agreement with its pending claims and confirmed workers, or null.</summary>
    public async Task<AgreementFigures?> FiguresAsync(string agreementId, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var agreement = await db.Agreements.AsNoTracking().SingleOrDefaultAsync(a => a.AgreementId == agreementId, cancellationToken);
        if (agreement is null) return null;
        var pending = await db.Sponsorships.Where(s => s.AgreementId == agreementId && s.State == SponsorshipStateKind.Pending).SumAsync(s => (long?)s.Committed, cancellationToken) ?? 0;
        var workers = await db.Sponsorships.LongCountAsync(s => s.AgreementId == agreementId && s.State != SponsorshipStateKind.Pending, cancellationToken);
        return new AgreementFigures(agreement, pending, workers);
    }

    /// <summary>
    /// Runs <paramref name="change"/> on the agreement under its lock (null when there is no such agreement), and saves what
    /// it changed with its event when it returns one. The agreement is tracked: set its fields to change them.
    /// </summary>
    public async Task<(bool Found, T Result)> ChangeAgreementAsync<T>(
        string agreementId, Func<AgreementRecord, (T Result, IIntegrationEvent? Event)> change, CancellationToken cancellationToken)
    {
        await using var work = await BeginAgreementWorkAsync(agreementId, cancellationToken);
        if (work.Agreement is null) return (false, default!);
        var (result, changed) = change(work.Agreement);
        if (changed is null) return (true, result);
        await AddEventsAsync(work.Db, [changed], cancellationToken);
        await work.CommitAsync(cancellationToken);
        return (true, result);
    }

    /// <summary>Inserts a new agreement with its event; false when one for the sponsor and year was committed first.</summary>
    public Task<bool> AddAgreementAsync(AgreementRecord agreement, RentanAgreementSaved saved, CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            db.Agreements.Add(agreement);
            db.AddOutboxEvent(saved);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return true;
            }
            catch (DbUpdateException ex) when (Platform.Data.ModuleWrites.IsUniqueViolation(ex))
            {
                return false;
            }
        }, cancellationToken);

    // ---- extracts

    /// <summary>The sponsor's current extract: the latest complete one, or null.</summary>
    public async Task<ExtractRecord?> CurrentExtractAsync(string sponsorCode, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        return await db.Extracts.AsNoTracking().Where(e => e.SponsorCode == sponsorCode && e.Complete)
            .OrderByDescending(e => e.ExtractDate).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>Records that an upload of the extract began (incomplete, unless an earlier upload completed it).</summary>
    public Task BeginExtractAsync(string sponsorCode, DateOnly extractDate, string memberCode, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            if (await db.Extracts.AnyAsync(e => e.SponsorCode == sponsorCode && e.ExtractDate == extractDate, cancellationToken)) return true;
            db.Extracts.Add(new ExtractRecord { SponsorCode = sponsorCode, ExtractDate = extractDate, UploadedBy = memberCode, CreateTime = now, UpdateTime = now });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException ex) when (Platform.Data.ModuleWrites.IsUniqueViolation(ex))
            {
                // A concurrent upload of the same extract recorded it first.
            }

            return true;
        }, cancellationToken);

    /// <summary>Adds rows to an extract, replacing rows of the same NIK (a re-sent extract), in one transaction.</summary>
    public abstract Task UpsertExtractRowsAsync(string sponsorCode, DateOnly extractDate, IReadOnlyList<ExtractRowRecord> rows, CancellationToken cancellationToken);

    /// <summary>Marks the extract complete with its row count and commits its event; returns the row count.</summary>
    public Task<long> CompleteExtractAsync(string sponsorCode, DateOnly extractDate, string memberCode, DateTimeOffset now, Func<long, RentanExtractUploaded> uploaded, CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            var extract = await db.Extracts.SingleAsync(e => e.SponsorCode == sponsorCode && e.ExtractDate == extractDate, cancellationToken);
            var rows = await db.ExtractRows.LongCountAsync(r => r.SponsorCode == sponsorCode && r.ExtractDate == extractDate, cancellationToken);
            extract.Complete = true;
            extract.RowCount = rows;
            extract.UploadedBy = memberCode;
            extract.UpdateTime = now;
            db.AddOutboxEvent(uploaded(rows));
            await db.SaveChangesAsync(cancellationToken);
            return rows;
        }, cancellationToken);

    /// <summary>The extract's rows of these NIKs, by NIK.</summary>
    public async Task<Dictionary<long, ExtractRowRecord>> ExtractRowsAsync(string sponsorCode, DateOnly extractDate, IReadOnlyCollection<long> niks, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, ExtractRowRecord>(niks.Count);
        await using var db = await RentAsync(cancellationToken);
        foreach (var chunk in HashesOf(niks).Chunk(LookupChunk))
        {
            var hashes = chunk.Select(c => c.Key).ToArray();
            var byHash = chunk.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            var rows = await db.ExtractRows.AsNoTracking()
                .Where(r => r.SponsorCode == sponsorCode && r.ExtractDate == extractDate && hashes.Contains(r.NikHash)).ToListAsync(cancellationToken);
            // The hash names the NIK asked for: no need to open the sealed copy.
            foreach (var row in rows) found[row.Nik = byHash[row.NikHash]] = row;
        }

        return found;
    }

    /// <summary>The extract's people in deciles 1–4 with no sponsorship in either year, ordered by decile then the NIK's hash.</summary>
    public async IAsyncEnumerable<ExtractRowRecord> UnsponsoredEligibleAsync(
        string sponsorCode, DateOnly extractDate, int year, int nextYear, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var rows = db.ExtractRows.AsNoTracking()
            .Where(r => r.SponsorCode == sponsorCode && r.ExtractDate == extractDate && r.Decile <= 4)
            .Where(r => !db.Sponsorships.Any(s => s.NikHash == r.NikHash && (s.Year == year || s.Year == nextYear)))
            .OrderBy(r => r.Decile).ThenBy(r => r.NikHash);
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(cancellationToken)) yield return cipher.Reveal(row);
    }

    // ---- sponsorships

    /// <summary>Every sponsorship of these NIKs in a year, whichever sponsor holds it, by NIK.</summary>
    public async Task<Dictionary<long, SponsorshipRecord>> SponsorshipsAsync(int year, IReadOnlyCollection<long> niks, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, SponsorshipRecord>(niks.Count);
        await using var db = await RentAsync(cancellationToken);
        foreach (var chunk in HashesOf(niks).Chunk(LookupChunk))
        {
            var hashes = chunk.Select(c => c.Key).ToArray();
            var byHash = chunk.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            var rows = await db.Sponsorships.AsNoTracking().Where(s => s.Year == year && hashes.Contains(s.NikHash)).ToListAsync(cancellationToken);
            foreach (var row in rows) found[row.Nik = byHash[row.NikHash]] = row;
        }

        return found;
    }

    public async Task<IReadOnlyList<SponsorshipRecord>> SponsorshipsByIdAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<SponsorshipRecord>(ids.Count);
        await using var db = await RentAsync(cancellationToken);
        foreach (var chunk in ids.Distinct().Chunk(LookupChunk))
            found.AddRange((await db.Sponsorships.AsNoTracking().Where(s => chunk.Contains(s.SponsorshipId)).ToListAsync(cancellationToken)).ConvertAll(cipher.Reveal));
        return found;
    }

    /// <summary>An agreement's confirmed workers (not pending claims), in a stable order (their NIK's hash); with a month, only those covered on a day of it.</summary>
    public async IAsyncEnumerable<SponsorshipRecord> WorkersAsync(string agreementId, DateOnly? monthStart, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var query = db.Sponsorships.AsNoTracking().Where(s => s.AgreementId == agreementId && s.State != SponsorshipStateKind.Pending);
        if (monthStart is { } first)
        {
            var last = first.AddMonths(1).AddDays(-1);
            query = query.Where(s => s.StartDate <= last && s.EndDate >= first);
        }

        await foreach (var row in query.OrderBy(s => s.NikHash).AsAsyncEnumerable().WithCancellation(cancellationToken)) yield return cipher.Reveal(row);
    }

    /// <summary>The distinct declared incomes of an agreement's workers covered on a day of the month starting <paramref name="monthStart"/>.</summary>
    public async Task<IReadOnlyList<long>> IncomesAsync(string agreementId, DateOnly monthStart, CancellationToken cancellationToken)
    {
        var last = monthStart.AddMonths(1).AddDays(-1);
        await using var db = await RentAsync(cancellationToken);
        return await db.Sponsorships.AsNoTracking()
            .Where(s => s.AgreementId == agreementId && s.State != SponsorshipStateKind.Pending && s.StartDate <= last && s.EndDate >= monthStart)
            .Select(s => s.DeclaredIncome).Distinct().ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Claims budget for <paramref name="candidates"/> (new PENDING sponsorships, in priority order) under the agreement's
    /// lock: each in order while the remaining budget covers it, the rest exhausted (with what remained when it was
    /// decided; <paramref name="refused"/> gives each its event). A candidate whose person a concurrent writer claimed first
    /// for the year is taken, and its share goes to the next in order. Everything commits together. With
    /// <paramref name="budgetSpent"/> (an earlier part of the same list ran out) none is claimed and all are exhausted.
    /// </summary>
    public async Task<ClaimResult> ClaimAsync(
        string agreementId, IReadOnlyList<SponsorshipRecord> candidates, DateTimeOffset now, Func<SponsorshipRecord, long, IIntegrationEvent?> refused,
        bool budgetSpent, CancellationToken cancellationToken)
    {
        // Hashed and sealed before the agreement's lock is taken, on every core: the lock is held only for the writes.
        if (!budgetSpent) Parallel.For(0, candidates.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => cipher.Protect(candidates[i]));
        await using var work = await BeginAgreementWorkAsync(agreementId, cancellationToken);
        var agreement = work.Agreement ?? throw new InvalidOperationException("Budget claimed on an agreement that does not exist.");
        var remaining = agreement.Remaining;
        var claimed = new List<SponsorshipRecord>();
        var taken = new List<SponsorshipRecord>();
        IReadOnlyList<SponsorshipRecord> open = candidates;
        // An earlier part of the same list ran out: no later (richer) one goes before the one that did not fit.
        while (!budgetSpent && open.Count > 0)
        {
            // Strictly in order: once one does not fit, no later (richer) one goes before it.
            var fits = 0;
            var share = 0L;
            while (fits < open.Count && share + open[fits].Committed <= remaining) share += open[fits++].Committed;
            if (fits == 0) break;
            var fit = open.Take(fits).ToList();
            var inserted = await InsertClaimsAsync(work.Db, fit, cancellationToken);
            foreach (var sponsorship in fit)
            {
                if (!inserted.Contains(sponsorship.SponsorshipId))
                {
                    taken.Add(sponsorship);
                    continue;
                }

                claimed.Add(sponsorship);
                remaining -= sponsorship.Committed;
            }

            open = [.. open.Skip(fits)];
            // Only a taken claim frees budget for the next in order.
            if (inserted.Count == fit.Count) break;
        }

        var exhausted = open.Select(s => (s, remaining)).ToList();
        if (claimed.Count > 0)
        {
            agreement.Committed += claimed.Sum(c => c.Committed);
            agreement.UpdateTime = now;
        }

        await AddEventsAsync(work.Db, [.. exhausted.Select(e => refused(e.s, e.remaining)).OfType<IIntegrationEvent>()], cancellationToken);
        await work.CommitAsync(cancellationToken);
        return new ClaimResult(claimed, exhausted, taken, agreement.Remaining);
    }

    /// <summary>Gives back the budget of pending claims Membership refused, deleting them; the others are left alone.</summary>
    public async Task ReleaseAsync(string agreementId, IReadOnlyCollection<string> sponsorshipIds, CancellationToken cancellationToken)
    {
        if (sponsorshipIds.Count == 0) return;
        await using var work = await BeginAgreementWorkAsync(agreementId, cancellationToken);
        var agreement = work.Agreement ?? throw new InvalidOperationException("Claims released on an agreement that does not exist.");
        var ids = sponsorshipIds.ToList();
        var pending = await work.Db.Sponsorships.Where(s => ids.Contains(s.SponsorshipId) && s.State == SponsorshipStateKind.Pending).ToListAsync(cancellationToken);
        work.Db.Sponsorships.RemoveRange(pending);
        agreement.Committed -= pending.Sum(p => p.Committed);
        await work.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Turns pending claims Membership confirmed into active sponsorships, with their events, together; returns the ids it
    /// confirmed (a claim confirmed concurrently by another writer is not confirmed again, nor evented twice).
    /// </summary>
    public abstract Task<IReadOnlySet<string>> ConfirmAsync(
        IReadOnlyList<Confirmation> confirmations, DateTimeOffset now, Func<string, IIntegrationEvent> confirmed, CancellationToken cancellationToken);

    /// <summary>
    /// Confirms pending renewals (the next year's sponsorships become active, the renewed ones RENEWED), with their events,
    /// together; returns the ids of the renewals it confirmed.
    /// </summary>
    public abstract Task<IReadOnlySet<string>> ConfirmRenewalsAsync(
        IReadOnlyList<string> renewalIds, DateTimeOffset now, Func<string, IIntegrationEvent> renewed, CancellationToken cancellationToken);

    /// <summary>Marks active sponsorships ENDING with their reasons and events, together; returns the ids it ended.</summary>
    public abstract Task<IReadOnlySet<string>> EndAsync(
        IReadOnlyList<(string SponsorshipId, WorkerReasonKind Reason)> ends, DateTimeOffset now, Func<string, IIntegrationEvent> ended, CancellationToken cancellationToken);

    /// <summary>
    /// The December update's view of an agreement: every ACTIVE sponsorship with its row in the extract and the person's
    /// sponsorship next year, if any; poorest deciles first (then by the NIK's hash), people absent from the extract last.
    /// </summary>
    public async IAsyncEnumerable<RenewalCandidate> RenewalCandidatesAsync(
        AgreementRecord agreement, DateOnly extractDate, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var next = agreement.Year + 1;
        var query =
            from s in db.Sponsorships.AsNoTracking()
            where s.AgreementId == agreement.AgreementId && s.State == SponsorshipStateKind.Active
            join e in db.ExtractRows.AsNoTracking().Where(r => r.SponsorCode == agreement.SponsorCode && r.ExtractDate == extractDate)
                on s.NikHash equals e.NikHash into extract
            from e in extract.DefaultIfEmpty()
            join n in db.Sponsorships.AsNoTracking().Where(x => x.Year == next) on s.NikHash equals n.NikHash into following
            from n in following.DefaultIfEmpty()
            orderby e == null ? 99 : e.Decile, s.NikHash
            select new { s, Decile = e == null ? (short?)null : e.Decile, Regency = e == null ? null : e.RegencyCode, n };
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            var sponsorship = cipher.Reveal(row.s);
            // Next year's row has the same hash, hence the same NIK.
            if (row.n is { } following) following.Nik = sponsorship.Nik;
            yield return new RenewalCandidate(sponsorship, row.Decile, row.Regency, row.n);
        }
    }

    /// <summary>
    /// Brings the planner's statistics of the sponsorships and extract rows up to date before the December update joins them:
    /// lists and extracts load them in bulk, and a plan made on the statistics of an emptier table joins 64-character
    /// hashes in nested loops.
    /// </summary>
    public abstract Task RefreshStatisticsAsync(CancellationToken cancellationToken);

    /// <summary>The next year's pending renewals of an agreement's workers.</summary>
    public async Task<IReadOnlyList<SponsorshipRecord>> PendingRenewalsAsync(string nextAgreementId, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        return (await db.Sponsorships.AsNoTracking()
            .Where(s => s.AgreementId == nextAgreementId && s.State == SponsorshipStateKind.Pending && s.RenewedFrom != null)
            .ToListAsync(cancellationToken)).ConvertAll(cipher.Reveal);
    }

    /// <summary>The December report's worker lines: every confirmed sponsorship of the agreement, ordered by the NIK's hash, with the extract's decile and its renewal.</summary>
    public async IAsyncEnumerable<RenewalReportRow> ReportAsync(
        AgreementRecord agreement, DateOnly extractDate, string? nextAgreementId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var query =
            from s in db.Sponsorships.AsNoTracking()
            where s.AgreementId == agreement.AgreementId && s.State != SponsorshipStateKind.Pending
            join e in db.ExtractRows.AsNoTracking().Where(r => r.SponsorCode == agreement.SponsorCode && r.ExtractDate == extractDate)
                on s.NikHash equals e.NikHash into extract
            from e in extract.DefaultIfEmpty()
            join n in db.Sponsorships.AsNoTracking().Where(x => x.AgreementId == nextAgreementId && x.State != SponsorshipStateKind.Pending)
                on s.SponsorshipId equals n.RenewedFrom into renewal
            from n in renewal.DefaultIfEmpty()
            orderby s.NikHash
            select new { s, Decile = e == null ? (short?)null : e.Decile, n };
        await foreach (var row in query.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            var sponsorship = cipher.Reveal(row.s);
            if (row.n is { } renewal) renewal.Nik = sponsorship.Nik;
            yield return new RenewalReportRow(sponsorship, row.Decile, row.n);
        }
    }

    // ---- units of work

    /// <summary>The distinct NIKs by their hash.</summary>
    protected IEnumerable<KeyValuePair<string, long>> HashesOf(IEnumerable<long> niks) =>
        niks.Distinct().Select(nik => KeyValuePair.Create(cipher.Hash(nik), nik));

    /// <summary>A context of the store's own pool for one unit of work; disposing it gives it back.</summary>
    protected Task<RentanDbContext> RentAsync(CancellationToken cancellationToken) => _contexts.CreateDbContextAsync(cancellationToken);

    /// <summary>Runs a write on a rented context, the way this provider queues writers.</summary>
    protected abstract Task<T> WriteAsync<T>(Func<RentanDbContext, Task<T>> write, CancellationToken cancellationToken);

    /// <summary>A rented context with a transaction holding the agreement's lock, and the agreement tracked (null when there is none).</summary>
    protected abstract Task<AgreementWork> BeginAgreementWorkAsync(string agreementId, CancellationToken cancellationToken);

    /// <summary>Inserts new pending sponsorships inside the transaction, skipping a person already claimed for the year; returns the ids inserted.</summary>
    protected abstract Task<IReadOnlySet<string>> InsertClaimsAsync(RentanDbContext db, IReadOnlyList<SponsorshipRecord> claims, CancellationToken cancellationToken);

    /// <summary>Adds events to the outbox inside the transaction: tracked rows where the context saves them, copied on PostgreSQL.</summary>
    protected abstract Task AddEventsAsync(RentanDbContext db, IReadOnlyList<IIntegrationEvent> events, CancellationToken cancellationToken);

    /// <summary>A rented context, its transaction and the write gate it holds (SQLite); disposing rolls back what was not committed and gives all back.</summary>
    protected sealed class AgreementWork(RentanDbContext db, IDbContextTransaction transaction, SemaphoreSlim? gate, AgreementRecord? agreement) : IAsyncDisposable
    {
        public RentanDbContext Db => db;

        public AgreementRecord? Agreement => agreement;

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.DisposeAsync();
            }
            finally
            {
                gate?.Release();
                await db.DisposeAsync();
            }
        }
    }
}
