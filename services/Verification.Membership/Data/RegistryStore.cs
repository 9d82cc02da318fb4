using Google.Protobuf;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Membership.Domain;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using ApiNikWarning = Verification.Api.Membership.V1.NikWarning;
using ApiProgram = Verification.Api.Common.V1.Program;
using NikWarning = Verification.Domain.NikWarning;

namespace Verification.Membership.Data;

/// <summary>
/// The first answer to an idempotency key as stored: the fingerprint of the request that got it, and the answer as the
/// API's EnrollParticipantResponse bytes (the form every stored answer has), so a repeat gets it back unchanged.
/// </summary>
public readonly record struct StoredAnswer(byte[] RequestFingerprint, byte[] Response)
{
    public EnrolmentAnswer Answer
    {
        get
        {
            var message = EnrollParticipantResponse.Parser.ParseFrom(Response);
            return new EnrolmentAnswer(
                (EnrolmentOutcome)(int)message.Outcome, ParticipantNumber.Parse(message.ParticipantNumber),
                Programs(message.StartedPrograms), Programs(message.ActivePrograms),
                [.. message.NikWarnings.Select(w => NikWarning.For(w == ApiNikWarning.BirthDateMismatch ? NikWarningKind.BirthDateMismatch : NikWarningKind.SexMismatch))]);
        }
    }

    public static byte[] Serialize(EnrolmentAnswer answer) => ToMessage(answer).ToByteArray();

    /// <summary>The answer as the API's message: the form it is stored in, and what the wire carries.</summary>
    public static EnrollParticipantResponse ToMessage(EnrolmentAnswer answer)
    {
        var message = new EnrollParticipantResponse { Outcome = (EnrollOutcome)(int)answer.Outcome, ParticipantNumber = answer.Number.Value };
        foreach (var program in answer.Started.ToList()) message.StartedPrograms.Add(ToApi(program));
        foreach (var program in answer.Active.ToList()) message.ActivePrograms.Add(ToApi(program));
        foreach (var warning in answer.NikWarnings)
            message.NikWarnings.Add(warning.Kind == NikWarningKind.BirthDateMismatch ? ApiNikWarning.BirthDateMismatch : ApiNikWarning.SexMismatch);
        return message;
    }

    private static ApiProgram ToApi(CoverageProgram program) => (ApiProgram)((int)program + 1);

    private static ProgramSet Programs(IEnumerable<ApiProgram> programs) => ProgramSet.Of(programs.Select(p => (CoverageProgram)((int)p - 1)));
}

/// <summary>
/// One enrolment under its person's lock, in a transaction of its own: what was committed before the lock was granted,
/// and where what the enrolment decided is saved. Disposed unsaved, it writes nothing and releases the lock.
/// </summary>
public abstract class PersonEnrolment : IAsyncDisposable
{
    /// <summary>The key's first answer, when the key was answered before.</summary>
    public StoredAnswer? Stored { get; protected set; }

    /// <summary>The person with their coverages; null when the NIK is not registered.</summary>
    public ParticipantRecord? Participant { get; protected set; }

    /// <summary>The participant-number sequence for the person should they be new; null when they are registered.</summary>
    public long? NewId { get; protected set; }

    /// <summary>Saves the rows and events and commits; false when the key or the NIK was committed concurrently (nothing saved).</summary>
    public abstract Task<bool> SaveAsync(EnrolmentWrites writes, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// The registry's data: participants, their coverages, the answers to idempotency keys, with each change's events in the
/// same transaction. Each unit of work rents a context of its own, so the store serves features and background
/// workers alike. <see cref="PostgresRegistryStore"/> keeps the measured hand-written SQL (one enrolment in three round
/// trips, chunks by binary COPY, set reads by array parameter); <see cref="SqliteRegistryStore"/> is EF Core behind the
/// write gate. What reads the same on both (coverage ends, participant lookups, chunks' reads) is EF Core's, here.
/// </summary>
/// <remarks>Enrolments are locked per person and read per key, so a set-based enrolment of many can share a transaction.</remarks>
public abstract class RegistryStore(DbContextOptions<MembershipDbContext> options)
{
    private readonly PooledDbContextFactory<MembershipDbContext> _contexts = new(options);

    /// <summary>How many set-based lookups are worth having in flight at once.</summary>
    public abstract int ConcurrentLookups { get; }

    /// <summary>How many coalesced enrolment transactions are worth having in flight at once.</summary>
    public abstract int ConcurrentEnrolments { get; }

    /// <summary>
    /// The coverages of every registered NIK among <paramref name="niks"/> (duplicates allowed); a NIK missing from the
    /// result is not registered, a registered one without coverage maps to an empty array. Never one query per NIK.
    /// </summary>
    public abstract Task<Dictionary<long, CoverageSpan[]>> CoveragesByNikAsync(IReadOnlyCollection<long> niks, CancellationToken cancellationToken);

    /// <summary>Locks the person, then reads the key's first answer, the person, and (for a new person) a participant-number sequence.</summary>
    public abstract Task<PersonEnrolment> BeginEnrolmentAsync(string memberCode, string idempotencyKey, long nik, CancellationToken cancellationToken);

    /// <summary>
    /// Locks the persons (in ascending NIK order, so chunks sharing persons never wait on each other in a cycle), then
    /// reads the keys' first answers and the persons, each with one query.
    /// </summary>
    public async Task<ChunkEnrolment> BeginEnrolmentsAsync(
        string memberCode, IReadOnlyList<string> keys, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken)
    {
        var work = await BeginWorkAsync(cancellationToken);
        try
        {
            var db = work.Db;
            await LockPersonsAsync(db, ascendingNiks, cancellationToken);
            var stored = await db.IdempotencyRecords.AsNoTracking()
                .Where(r => r.MemberCode == memberCode && keys.Contains(r.IdempotencyKey))
                .ToDictionaryAsync(r => r.IdempotencyKey, r => new StoredAnswer(r.RequestFingerprint, r.Response), StringComparer.Ordinal, cancellationToken);
            var participants = await ChunkParticipants(db.Participants.Include(p => p.Coverages).Where(p => ascendingNiks.Contains(p.Nik)))
                .ToDictionaryAsync(p => p.Nik, cancellationToken);
            return new ChunkEnrolment(this, work, stored, participants);
        }
        catch
        {
            await work.DisposeAsync();
            throw;
        }
    }

    /// <summary>The first answer given under a member's key, or null.</summary>
    public async Task<StoredAnswer?> FindAnswerAsync(string memberCode, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        var record = await db.IdempotencyRecords.AsNoTracking()
            .SingleOrDefaultAsync(r => r.MemberCode == memberCode && r.IdempotencyKey == idempotencyKey, cancellationToken);
        return record is null ? null : new StoredAnswer(record.RequestFingerprint, record.Response);
    }

    /// <summary>
    /// A participant's coverages (ordered by start, then id) under their person's lock, in a transaction, for a change
    /// of their ends; null when no participant has the sequence <paramref name="participantId"/>.
    /// </summary>
    public async Task<CoverageChange?> BeginCoverageChangeAsync(long participantId, CancellationToken cancellationToken)
    {
        var work = await BeginWorkAsync(cancellationToken);
        try
        {
            var db = work.Db;
            var nik = await db.Participants.Where(p => p.Id == participantId).Select(p => (long?)p.Nik).SingleOrDefaultAsync(cancellationToken);
            if (nik is null)
            {
                await work.DisposeAsync();
                return null;
            }

            await LockPersonsAsync(db, [nik.Value], cancellationToken);
            var coverages = await db.Coverages.Where(c => c.ParticipantId == participantId).OrderBy(c => c.StartDate).ThenBy(c => c.Id).ToListAsync(cancellationToken);
            return new CoverageChange(work, coverages);
        }
        catch
        {
            await work.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The coverages of many participants (each ordered by start, then id) under their persons' locks (ascending NIK), in
    /// one transaction, for changes of their ends; participants no sequence matches are absent.
    /// </summary>
    public async Task<CoverageChanges> BeginCoverageChangesAsync(IReadOnlyList<long> participantIds, CancellationToken cancellationToken)
    {
        var work = await BeginWorkAsync(cancellationToken);
        try
        {
            var db = work.Db;
            var persons = await db.Participants.Where(p => participantIds.Contains(p.Id)).Select(p => new { p.Id, p.Nik }).ToListAsync(cancellationToken);
            await LockPersonsAsync(db, [.. persons.Select(p => p.Nik).Distinct().Order()], cancellationToken);
            var found = persons.Select(p => p.Id).ToList();
            var byParticipant = found.ToDictionary(id => id, _ => new List<CoverageRecord>());
            var coverages = await db.Coverages.Where(c => found.Contains(c.ParticipantId)).OrderBy(c => c.StartDate).ThenBy(c => c.Id).ToListAsync(cancellationToken);
            foreach (var coverage in coverages) byParticipant[coverage.ParticipantId].Add(coverage);
            return new CoverageChanges(this, work, byParticipant);
        }
        catch
        {
            await work.DisposeAsync();
            throw;
        }
    }

    /// <summary>The participant with their coverages, by participant-number sequence, or null.</summary>
    public async Task<ParticipantRecord?> FindParticipantAsync(long participantId, CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        return await db.Participants.AsNoTracking().Include(p => p.Coverages).SingleOrDefaultAsync(p => p.Id == participantId, cancellationToken);
    }

    /// <summary>The participant with their coverages, by NIK, or null.</summary>
    public async Task<ParticipantRecord?> FindParticipantByNikAsync(long nik, CancellationToken cancellationToken)
    {
        await using var db = await _contexts.CreateDbContextAsync(cancellationToken);
        return await db.Participants.AsNoTracking().Include(p => p.Coverages).SingleOrDefaultAsync(p => p.Nik == nik, cancellationToken);
    }

    /// <summary>A context of the store's own pool for one unit of work; disposing it gives it back.</summary>
    protected Task<MembershipDbContext> RentAsync(CancellationToken cancellationToken) => _contexts.CreateDbContextAsync(cancellationToken);

    /// <summary>A rented context with a transaction (behind the write gate where the provider has one).</summary>
    protected async Task<RegistryWork> BeginWorkAsync(CancellationToken cancellationToken)
    {
        var db = await RentAsync(cancellationToken);
        SemaphoreSlim? gate = null;
        try
        {
            gate = await EnterWriteGateAsync(db, cancellationToken);
            return new RegistryWork(db, gate, await db.Database.BeginTransactionAsync(cancellationToken));
        }
        catch
        {
            gate?.Release();
            await db.DisposeAsync();
            throw;
        }
    }

    /// <summary>Queues this process's writers where the provider needs it; null where the persons' locks do.</summary>
    protected virtual Task<SemaphoreSlim?> EnterWriteGateAsync(MembershipDbContext db, CancellationToken cancellationToken) => Task.FromResult<SemaphoreSlim?>(null);

    /// <summary>Holds the persons' locks until the transaction ends (ascending order), where the transaction alone does not exclude other writers.</summary>
    protected abstract Task LockPersonsAsync(MembershipDbContext db, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken);

    /// <summary>How a chunk reads its persons: tracked where the context saves the chunk, untracked where rows are copied.</summary>
    protected abstract IQueryable<ParticipantRecord> ChunkParticipants(IQueryable<ParticipantRecord> participants);

    /// <summary><paramref name="count"/> new participant-number sequences inside the transaction, in one statement.</summary>
    protected internal abstract Task<IReadOnlyList<long>> AllocateSequencesAsync(MembershipDbContext db, int count, CancellationToken cancellationToken);

    /// <summary>Adds events to the outbox inside the transaction: tracked rows where the context saves them, copied where rows are copied.</summary>
    protected internal virtual Task AddEventsAsync(MembershipDbContext db, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        db.OutboxMessages.AddRange(OutboxEventGroup.Rows(messages));
        return Task.CompletedTask;
    }

    /// <summary>Writes a chunk's rows and events inside the transaction; a key or NIK committed concurrently throws a unique violation.</summary>
    protected internal abstract Task WriteChunkAsync(MembershipDbContext db, EnrolmentWrites writes, CancellationToken cancellationToken);
}

/// <summary>A rented context, its transaction and the write gate it holds; disposing rolls back what was not committed and gives all back.</summary>
public sealed class RegistryWork(MembershipDbContext db, SemaphoreSlim? gate, IDbContextTransaction transaction) : IAsyncDisposable
{
    public MembershipDbContext Db => db;

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

/// <summary>
/// Enrolments of one member under the locks of all their persons, in one transaction: the keys' first answers and the
/// persons already registered, read once; new numbers allocated as one block; every row and event saved together.
/// </summary>
public sealed class ChunkEnrolment(
    RegistryStore store, RegistryWork work, IReadOnlyDictionary<string, StoredAnswer> stored, IReadOnlyDictionary<long, ParticipantRecord> participants)
    : IAsyncDisposable
{
    /// <summary>The first answers of the chunk's keys answered before, by key.</summary>
    public IReadOnlyDictionary<string, StoredAnswer> Stored => stored;

    /// <summary>The chunk's persons already registered, with their coverages, by NIK.</summary>
    public IReadOnlyDictionary<long, ParticipantRecord> Participants => participants;

    public Task<IReadOnlyList<long>> NewIdsAsync(int count, CancellationToken cancellationToken) =>
        count == 0 ? Task.FromResult<IReadOnlyList<long>>([]) : store.AllocateSequencesAsync(work.Db, count, cancellationToken);

    /// <summary>Saves every row and event and commits; false when a key or NIK was committed concurrently (nothing saved).</summary>
    public async Task<bool> SaveAsync(EnrolmentWrites writes, CancellationToken cancellationToken)
    {
        try
        {
            await store.WriteChunkAsync(work.Db, writes, cancellationToken);
            await work.CommitAsync(cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex.IsUniqueViolation())
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => work.DisposeAsync();
}

/// <summary>A participant's coverages under their person's lock, tracked: the ends set on them and the rows split off are saved with the event.</summary>
public sealed class CoverageChange(RegistryWork work, List<CoverageRecord> coverages) : IAsyncDisposable
{
    /// <summary>The participant's coverages, ordered by start date then id; changes to them are saved by <see cref="SaveAsync"/>.</summary>
    public IReadOnlyList<CoverageRecord> Coverages => coverages;

    /// <summary>Adds a row split off an existing coverage.</summary>
    public void Add(CoverageRecord split)
    {
        work.Db.Coverages.Add(split);
        coverages.Add(split);
    }

    /// <summary>Saves the changed and added coverages with the event, and commits.</summary>
    public async Task SaveAsync(OutboxMessage ended, CancellationToken cancellationToken)
    {
        work.Db.OutboxMessages.Add(ended);
        await work.CommitAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => work.DisposeAsync();
}

/// <summary>Gathers a set lookup's rows into each NIK's coverages.</summary>
internal static class CoverageLookups
{
    /// <summary>Notes a registered NIK, with one coverage unless the row had none.</summary>
    public static void Add(Dictionary<long, List<CoverageSpan>> found, long nik, CoverageSpan? span)
    {
        if (!found.TryGetValue(nik, out var spans)) found[nik] = spans = new List<CoverageSpan>(2);
        if (span is { } s) spans.Add(s);
    }

    public static Dictionary<long, CoverageSpan[]> ToArrays(Dictionary<long, List<CoverageSpan>> found)
    {
        var result = new Dictionary<long, CoverageSpan[]>(found.Count);
        foreach (var (nik, spans) in found) result[nik] = [.. spans];
        return result;
    }
}

/// <summary>Many participants' coverages under their persons' locks, tracked: ends set on them, split rows and events are saved together.</summary>
public sealed class CoverageChanges(RegistryStore store, RegistryWork work, Dictionary<long, List<CoverageRecord>> coverages) : IAsyncDisposable
{
    private bool _added;

    /// <summary>Whether a split row was added.</summary>
    public bool Any => _added;

    /// <summary>A participant's coverages (ordered by start date then id), or null when no participant has the sequence.</summary>
    public IReadOnlyList<CoverageRecord>? CoveragesOf(long participantId) => coverages.GetValueOrDefault(participantId);

    /// <summary>Adds a row split off an existing coverage of the participant.</summary>
    public void Add(long participantId, CoverageRecord split)
    {
        work.Db.Coverages.Add(split);
        coverages[participantId].Add(split);
        _added = true;
    }

    /// <summary>Saves the changed and added coverages with the events, and commits.</summary>
    public async Task SaveAsync(IReadOnlyList<CoverageEnded> ended, CancellationToken cancellationToken)
    {
        await store.AddEventsAsync(work.Db, [.. ended.Select(e => OutboxDbContextExtensions.NewOutboxMessage(e))], cancellationToken);
        await work.CommitAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => work.DisposeAsync();
}
