using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Rentan.Data;

/// <summary>
/// SQLite (monolithic mode): EF Core, with this process's writers of the file queued at its write gate. The gate is the
/// agreement's lock too: one writer at a time, so reading a person's claims before inserting cannot race another writer.
/// </summary>
internal sealed class SqliteRentanStore(DbContextOptions<RentanDbContext> options, WorkerNikCipher cipher) : RentanStore(options, cipher)
{
    public override Task UpsertExtractRowsAsync(string sponsorCode, DateOnly extractDate, IReadOnlyList<ExtractRowRecord> rows, CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var chunk in rows.Chunk(LookupChunk))
            {
                foreach (var row in chunk) Cipher.Protect(row);
                var hashes = chunk.Select(r => r.NikHash).ToArray();
                var stored = await db.ExtractRows.Where(r => r.SponsorCode == sponsorCode && r.ExtractDate == extractDate && hashes.Contains(r.NikHash))
                    .ToDictionaryAsync(r => r.NikHash, StringComparer.Ordinal, cancellationToken);
                foreach (var row in chunk)
                {
                    if (stored.TryGetValue(row.NikHash, out var existing))
                    {
                        existing.HouseholdId = row.HouseholdId;
                        existing.Decile = row.Decile;
                        existing.RegencyCode = row.RegencyCode;
                        existing.Category = row.Category;
                    }
                    else
                    {
                        db.ExtractRows.Add(row);
                    }
                }

                await db.SaveChangesAsync(cancellationToken);
                db.ChangeTracker.Clear();
            }

            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);

    public override Task<IReadOnlySet<string>> ConfirmAsync(
        IReadOnlyList<Confirmation> confirmations, DateTimeOffset now, Func<string, IIntegrationEvent> confirmed, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlySet<string>>(async db =>
        {
            var answers = confirmations.ToDictionary(c => c.SponsorshipId, StringComparer.Ordinal);
            var done = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pending in await PendingAsync(db, answers.Keys, cancellationToken))
            {
                var answer = answers[pending.SponsorshipId];
                pending.State = SponsorshipStateKind.Active;
                pending.ParticipantNumber = answer.ParticipantNumber;
                pending.StartedPrograms = answer.StartedPrograms;
                pending.UpdateTime = now;
                done.Add(pending.SponsorshipId);
                db.AddOutboxEvent(confirmed(pending.SponsorshipId));
            }

            await db.SaveChangesAsync(cancellationToken);
            return done;
        }, cancellationToken);

    public override Task<IReadOnlySet<string>> ConfirmRenewalsAsync(
        IReadOnlyList<string> renewalIds, DateTimeOffset now, Func<string, IIntegrationEvent> renewed, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlySet<string>>(async db =>
        {
            var done = new HashSet<string>(StringComparer.Ordinal);
            var renewals = await PendingAsync(db, renewalIds, cancellationToken);
            var previousIds = renewals.Select(r => r.RenewedFrom!).ToArray();
            var previous = await db.Sponsorships.Where(s => previousIds.Contains(s.SponsorshipId) && s.State == SponsorshipStateKind.Active).ToListAsync(cancellationToken);
            foreach (var renewal in renewals)
            {
                renewal.State = SponsorshipStateKind.Active;
                renewal.UpdateTime = now;
                done.Add(renewal.SponsorshipId);
                db.AddOutboxEvent(renewed(renewal.SponsorshipId));
            }

            foreach (var old in previous)
            {
                old.State = SponsorshipStateKind.Renewed;
                old.UpdateTime = now;
            }

            await db.SaveChangesAsync(cancellationToken);
            return done;
        }, cancellationToken);

    public override Task<IReadOnlySet<string>> EndAsync(
        IReadOnlyList<(string SponsorshipId, WorkerReasonKind Reason)> ends, DateTimeOffset now, Func<string, IIntegrationEvent> ended, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlySet<string>>(async db =>
        {
            var reasons = ends.ToDictionary(e => e.SponsorshipId, e => e.Reason, StringComparer.Ordinal);
            var done = new HashSet<string>(StringComparer.Ordinal);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var chunk in reasons.Keys.Chunk(LookupChunk))
            {
                var active = await db.Sponsorships.Where(s => chunk.Contains(s.SponsorshipId) && s.State == SponsorshipStateKind.Active).ToListAsync(cancellationToken);
                foreach (var sponsorship in active)
                {
                    sponsorship.State = SponsorshipStateKind.Ending;
                    sponsorship.EndReason = reasons[sponsorship.SponsorshipId];
                    sponsorship.UpdateTime = now;
                    done.Add(sponsorship.SponsorshipId);
                    db.AddOutboxEvent(ended(sponsorship.SponsorshipId));
                }

                await db.SaveChangesAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return done;
        }, cancellationToken);

    public override Task RefreshStatisticsAsync(CancellationToken cancellationToken) =>
        WriteAsync(async db =>
        {
            await db.Database.ExecuteSqlRawAsync("ANALYZE rentan_sponsorships; ANALYZE rentan_extract_rows", cancellationToken);
            return true;
        }, cancellationToken);

    protected override async Task<T> WriteAsync<T>(Func<RentanDbContext, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        var gate = await db.EnterWriteGateAsync(cancellationToken)
            ?? throw new InvalidOperationException("The SQLite Rentan store runs on a SQLite database only.");
        try
        {
            return await write(db);
        }
        finally
        {
            gate.Release();
        }
    }

    protected override async Task<AgreementWork> BeginAgreementWorkAsync(string agreementId, CancellationToken cancellationToken)
    {
        var db = await RentAsync(cancellationToken);
        SemaphoreSlim? gate = null;
        try
        {
            gate = await db.EnterWriteGateAsync(cancellationToken)
                ?? throw new InvalidOperationException("The SQLite Rentan store runs on a SQLite database only.");
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var agreement = await db.Agreements.SingleOrDefaultAsync(a => a.AgreementId == agreementId, cancellationToken);
            return new AgreementWork(db, transaction, gate, agreement);
        }
        catch
        {
            gate?.Release();
            await db.DisposeAsync();
            throw;
        }
    }

    protected override async Task<IReadOnlySet<string>> InsertClaimsAsync(RentanDbContext db, IReadOnlyList<SponsorshipRecord> claims, CancellationToken cancellationToken)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in claims.Chunk(LookupChunk))
        {
            var year = chunk[0].Year;
            var hashes = chunk.Select(c => c.NikHash).ToArray();
            var held = (await db.Sponsorships.AsNoTracking().Where(s => s.Year == year && hashes.Contains(s.NikHash)).Select(s => s.NikHash).ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
            foreach (var claim in chunk.Where(c => !held.Contains(c.NikHash)))
            {
                db.Sponsorships.Add(claim);
                inserted.Add(claim.SponsorshipId);
            }

            // Saved inside the agreement's transaction, so the next chunk's read sees them.
            await db.SaveChangesAsync(cancellationToken);
        }

        return inserted;
    }

    protected override Task AddEventsAsync(RentanDbContext db, IReadOnlyList<IIntegrationEvent> events, CancellationToken cancellationToken)
    {
        foreach (var integrationEvent in events) db.AddOutboxEvent(integrationEvent);
        return Task.CompletedTask;
    }

    private static async Task<List<SponsorshipRecord>> PendingAsync(RentanDbContext db, IEnumerable<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<SponsorshipRecord>();
        foreach (var chunk in ids.Chunk(LookupChunk))
            found.AddRange(await db.Sponsorships.Where(s => chunk.Contains(s.SponsorshipId) && s.State == SponsorshipStateKind.Pending).ToListAsync(cancellationToken));
        return found;
    }
}
