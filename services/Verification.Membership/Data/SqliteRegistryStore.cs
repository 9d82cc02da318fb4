using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Verification.Membership.Domain;
using Verification.Platform.Data;

namespace Verification.Membership.Data;

/// <summary>
/// The registry on SQLite through EF Core. Writers queue behind the platform's in-process write gate, and a write
/// transaction excludes every other writer of the file, so no person needs a lock of their own. Participant numbers
/// come from a counter row moved by the transaction that registers the participant.
/// </summary>
internal sealed class SqliteRegistryStore(ModuleDatabase database, DbContextOptions<MembershipDbContext> options) : RegistryStore(options)
{
    /// <summary>NIKs per lookup statement: well under SQLite's 32,766 host-parameter limit, and a statement it plans fast.</summary>
    public const int LookupChunk = 500;

    /// <summary>SQLite gains little from more than two lookups at once.</summary>
    public override int ConcurrentLookups => 2;

    /// <summary>The write gate lets one writer in at a time, so a second transaction would only queue behind it.</summary>
    public override int ConcurrentEnrolments => 1;

    public override async Task<Dictionary<long, CoverageSpan[]>> CoveragesByNikAsync(IReadOnlyCollection<long> niks, CancellationToken cancellationToken)
    {
        if (niks.Count == 0) return [];
        var found = new Dictionary<long, List<CoverageSpan>>(niks.Count);
        await using var connection = new SqliteConnection(database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // Sorted keys walk the B-tree in order: neighbouring probes share pages.
        foreach (var chunk in niks.Distinct().Order().Chunk(LookupChunk))
        {
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT p.nik, c.programs, c.segment, c.start_date, c.end_date FROM participants p LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik IN (");
            for (var i = 0; i < chunk.Length; i++)
            {
                sql.Append(i == 0 ? "$n" : ",$n").Append(i.ToString(CultureInfo.InvariantCulture));
                command.Parameters.AddWithValue("$n" + i.ToString(CultureInfo.InvariantCulture), chunk[i]);
            }

            command.CommandText = sql.Append(')').ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                CoverageLookups.Add(found, reader.GetInt64(0), reader.IsDBNull(1) ? null : new CoverageSpan(
                    new ProgramSet(reader.GetInt32(1)),
                    StoredCodes.Segment((short)reader.GetInt32(2)),
                    ParseDate(reader, 3),
                    reader.IsDBNull(4) ? null : ParseDate(reader, 4)));
            }
        }

        return CoverageLookups.ToArrays(found);
    }

    public override async Task<PersonEnrolment> BeginEnrolmentAsync(string memberCode, string idempotencyKey, long nik, CancellationToken cancellationToken)
    {
        var work = await BeginWorkAsync(cancellationToken);
        try
        {
            var db = work.Db;
            var enrolment = new Person(work);
            var stored = await db.IdempotencyRecords.AsNoTracking()
                .SingleOrDefaultAsync(r => r.MemberCode == memberCode && r.IdempotencyKey == idempotencyKey, cancellationToken);
            if (stored is not null)
            {
                enrolment.Found(new StoredAnswer(stored.RequestFingerprint, stored.Response), null, null);
                return enrolment;
            }

            var participant = await db.Participants.Include(p => p.Coverages).SingleOrDefaultAsync(p => p.Nik == nik, cancellationToken);
            enrolment.Found(null, participant, participant is null ? (await AllocateSequencesAsync(db, 1, cancellationToken))[0] : null);
            return enrolment;
        }
        catch
        {
            await work.DisposeAsync();
            throw;
        }
    }

    protected override Task<SemaphoreSlim?> EnterWriteGateAsync(MembershipDbContext db, CancellationToken cancellationToken) =>
        db.EnterWriteGateAsync(cancellationToken);

    /// <summary>Nothing to lock: the write transaction already excludes every other writer of the file.</summary>
    protected override Task LockPersonsAsync(MembershipDbContext db, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Tracked: the context saves the chunk, the grown NIK warnings of known persons by change detection.</summary>
    protected override IQueryable<ParticipantRecord> ChunkParticipants(IQueryable<ParticipantRecord> participants) => participants;

    /// <summary>The counter row moved by <paramref name="count"/> at once, inside the transaction that will insert the participants.</summary>
    protected internal override async Task<IReadOnlyList<long>> AllocateSequencesAsync(MembershipDbContext db, int count, CancellationToken cancellationToken)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction.");
        command.CommandText = "UPDATE participant_number_counter SET last_sequence = last_sequence + $count WHERE id = 1 RETURNING last_sequence";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "$count";
        parameter.Value = count;
        command.Parameters.Add(parameter);
        var last = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, count).Select(i => last - count + 1 + i)];
    }

    protected internal override async Task WriteChunkAsync(MembershipDbContext db, EnrolmentWrites writes, CancellationToken cancellationToken)
    {
        writes.AddTo(db);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static DateOnly ParseDate(DbDataReader reader, int ordinal) =>
        DateOnly.ParseExact(reader.GetString(ordinal), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>One enrolment through the context: what it found is tracked, so saving adds the new rows and the grown warnings.</summary>
    private sealed class Person(RegistryWork work) : PersonEnrolment
    {
        public void Found(StoredAnswer? stored, ParticipantRecord? participant, long? newId) => (Stored, Participant, NewId) = (stored, participant, newId);

        public override async Task<bool> SaveAsync(EnrolmentWrites writes, CancellationToken cancellationToken)
        {
            try
            {
                writes.AddTo(work.Db);
                await work.CommitAsync(cancellationToken);
                return true;
            }
            catch (DbUpdateException ex) when (ex.IsUniqueViolation())
            {
                return false;
            }
        }

        public override ValueTask DisposeAsync() => work.DisposeAsync();
    }
}
