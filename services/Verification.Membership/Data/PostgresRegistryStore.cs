using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
using Verification.Membership.Domain;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using static Verification.Platform.Data.PostgresParameters;

namespace Verification.Membership.Data;

/// <summary>
/// The registry on PostgreSQL. A person's writers queue on a transaction-scoped advisory lock on the NIK (a bigint
/// already), in any process. One enrolment is hand-written SQL in three round trips (the lock and every read, every
/// insert, the commit) where EF Core took seven; a chunk's rows go in by binary COPY; a set of NIKs is read with one
/// array parameter (docs/benchmarks.md, "## KUR" and "## Membership").
/// </summary>
internal sealed class PostgresRegistryStore : RegistryStore, IAsyncDisposable
{
    /// <summary>A column of a table: its name, its parameter in a hand-written statement, its field in a binary COPY, and how a row's value is read.</summary>
    private sealed record Column<T>(
        string Name,
        Func<T, NpgsqlParameter> Parameter,
        Func<NpgsqlBinaryImporter, T, CancellationToken, Task> Copy,
        Action<NpgsqlDataReader, int, T>? Read = null);

    // A new column is one line in its table, in the table's order.
    private static readonly Column<ParticipantRecord>[] ParticipantColumns =
    [
        new("id", p => Bigint(p.Id), (w, p, ct) => w.WriteAsync(p.Id, NpgsqlDbType.Bigint, ct), (d, i, p) => p.Id = d.GetInt64(i)),
        new("nik", p => Bigint(p.Nik), (w, p, ct) => w.WriteAsync(p.Nik, NpgsqlDbType.Bigint, ct), (d, i, p) => p.Nik = d.GetInt64(i)),
        new("full_name", p => Text(p.FullName), (w, p, ct) => w.WriteAsync(p.FullName, NpgsqlDbType.Text, ct), (d, i, p) => p.FullName = d.GetString(i)),
        new("birth_date", p => Date(p.BirthDate), (w, p, ct) => w.WriteAsync(p.BirthDate, NpgsqlDbType.Date, ct), (d, i, p) => p.BirthDate = d.GetFieldValue<DateOnly>(i)),
        new("sex", p => Smallint(StoredCodes.Sex(p.Sex)), (w, p, ct) => w.WriteAsync(StoredCodes.Sex(p.Sex), NpgsqlDbType.Smallint, ct), (d, i, p) => p.Sex = StoredCodes.Sex(d.GetInt16(i))),
        new("nik_warnings", p => Smallint((short)p.NikWarnings), (w, p, ct) => w.WriteAsync((short)p.NikWarnings, NpgsqlDbType.Smallint, ct), (d, i, p) => p.NikWarnings = d.GetInt16(i)),
        new("created_at", p => Instant(p.CreatedAt), (w, p, ct) => w.WriteAsync(p.CreatedAt, NpgsqlDbType.TimestampTz, ct), (d, i, p) => p.CreatedAt = d.GetFieldValue<DateTimeOffset>(i)),
    ];

    // What an insert writes: the id is the database's.
    private static readonly Column<CoverageRecord>[] CoverageColumns =
    [
        new("participant_id", c => Bigint(c.ParticipantId), (w, c, ct) => w.WriteAsync(c.ParticipantId, NpgsqlDbType.Bigint, ct), (d, i, c) => c.ParticipantId = d.GetInt64(i)),
        new("programs", c => Smallint((short)c.Programs.Bits), (w, c, ct) => w.WriteAsync((short)c.Programs.Bits, NpgsqlDbType.Smallint, ct), (d, i, c) => c.Programs = new ProgramSet(d.GetInt16(i))),
        new("segment", c => Smallint(StoredCodes.Segment(c.Segment)), (w, c, ct) => w.WriteAsync(StoredCodes.Segment(c.Segment), NpgsqlDbType.Smallint, ct), (d, i, c) => c.Segment = StoredCodes.Segment(d.GetInt16(i))),
        new("employer_number", c => NullableText(c.EmployerNumber), (w, c, ct) => WriteNullableAsync(w, c.EmployerNumber, NpgsqlDbType.Text, ct), (d, i, c) => c.EmployerNumber = d.IsDBNull(i) ? null : d.GetString(i)),
        new("channel", c => NullableSmallint((short?)c.Channel), (w, c, ct) => WriteNullableAsync(w, (short?)c.Channel, NpgsqlDbType.Smallint, ct), (d, i, c) => c.Channel = d.IsDBNull(i) ? null : (CoverageChannel)d.GetInt16(i)),
        new("channel_reference", c => NullableText(c.ChannelReference), (w, c, ct) => WriteNullableAsync(w, c.ChannelReference, NpgsqlDbType.Text, ct), (d, i, c) => c.ChannelReference = d.IsDBNull(i) ? null : d.GetString(i)),
        new("monthly_income", c => Bigint(c.MonthlyIncome), (w, c, ct) => w.WriteAsync(c.MonthlyIncome, NpgsqlDbType.Bigint, ct), (d, i, c) => c.MonthlyIncome = d.GetInt64(i)),
        new("start_date", c => Date(c.StartDate), (w, c, ct) => w.WriteAsync(c.StartDate, NpgsqlDbType.Date, ct), (d, i, c) => c.StartDate = d.GetFieldValue<DateOnly>(i)),
        new("end_date", c => NullableDate(c.EndDate), (w, c, ct) => WriteNullableAsync(w, c.EndDate, NpgsqlDbType.Date, ct), (d, i, c) => c.EndDate = d.IsDBNull(i) ? null : d.GetFieldValue<DateOnly>(i)),
        new("end_reason", c => NullableSmallint((short?)c.EndReason), (w, c, ct) => WriteNullableAsync(w, (short?)c.EndReason, NpgsqlDbType.Smallint, ct), (d, i, c) => c.EndReason = d.IsDBNull(i) ? null : (CoverageEndReason)d.GetInt16(i)),
        new("created_at", c => Instant(c.CreatedAt), (w, c, ct) => w.WriteAsync(c.CreatedAt, NpgsqlDbType.TimestampTz, ct), (d, i, c) => c.CreatedAt = d.GetFieldValue<DateTimeOffset>(i)),
    ];

    private static readonly Column<IdempotencyRecord>[] AnswerColumns =
    [
        new("member_code", a => Text(a.MemberCode), (w, a, ct) => w.WriteAsync(a.MemberCode, NpgsqlDbType.Text, ct)),
        new("idempotency_key", a => Text(a.IdempotencyKey), (w, a, ct) => w.WriteAsync(a.IdempotencyKey, NpgsqlDbType.Text, ct)),
        new("request_fingerprint", a => Bytea(a.RequestFingerprint), (w, a, ct) => w.WriteAsync(a.RequestFingerprint, NpgsqlDbType.Bytea, ct)),
        new("response", a => Bytea(a.Response), (w, a, ct) => w.WriteAsync(a.Response, NpgsqlDbType.Bytea, ct)),
        new("created_at", a => Instant(a.CreatedAt), (w, a, ct) => w.WriteAsync(a.CreatedAt, NpgsqlDbType.TimestampTz, ct)),
    ];

    private static readonly string InsertParticipant = Insert("participants", ParticipantColumns);
    private static readonly string InsertCoverage = Insert("coverages", CoverageColumns);
    private static readonly string InsertAnswer = Insert("idempotency_records", AnswerColumns);

    // The person and their coverages (the coverage's own id first), one row per coverage.
    private static readonly string FindPerson =
        $"SELECT {string.Join(", ", ParticipantColumns.Select(c => "p." + c.Name))}, c.id, {string.Join(", ", CoverageColumns.Select(c => "c." + c.Name))} "
        + "FROM participants p LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik = $1 ORDER BY c.id";

    private const string CoveragesOfNiks =
        "SELECT p.nik, c.programs, c.segment, c.start_date, c.end_date FROM participants p " +
        "LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik = ANY($1)";

    private readonly NpgsqlDataSource _lookups;
    private readonly OutboxSignal<MembershipDbContext> _outbox;

    public PostgresRegistryStore(ModuleDatabase database, DbContextOptions<MembershipDbContext> options, OutboxSignal<MembershipDbContext> outbox)
        : base(options)
    {
        // No reset on close, like every request connection: the seven reset statements were measured on each enrolment.
        var builder = new NpgsqlDataSourceBuilder(PostgresRequestConnections.For(database.ConnectionString));
        // The lookup statement is the same text every time: let Npgsql prepare it once per connection.
        builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 8);
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        _lookups = builder.Build();
        _outbox = outbox;
    }

    /// <summary>Several queries in flight keep PostgreSQL's cores busy while the next batch gathers.</summary>
    public override int ConcurrentLookups => 4;

    /// <summary>One transaction commits (and waits for its WAL flush) while the next gathers the callers that arrived meanwhile.</summary>
    public override int ConcurrentEnrolments => 2;

    public override async Task<Dictionary<long, CoverageSpan[]>> CoveragesByNikAsync(IReadOnlyCollection<long> niks, CancellationToken cancellationToken)
    {
        if (niks.Count == 0) return [];
        var found = new Dictionary<long, List<CoverageSpan>>(niks.Count);
        // Sorted keys walk the B-tree in order: neighbouring probes share pages.
        var sorted = niks.Distinct().Order().ToArray();
        await using (var command = _lookups.CreateCommand(CoveragesOfNiks))
        {
            command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = sorted });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                CoverageLookups.Add(found, reader.GetInt64(0), reader.IsDBNull(1) ? null : new CoverageSpan(
                    new ProgramSet(reader.GetInt16(1)),
                    StoredCodes.Segment(reader.GetInt16(2)),
                    reader.GetFieldValue<DateOnly>(3),
                    reader.IsDBNull(4) ? null : reader.GetFieldValue<DateOnly>(4)));
            }
        }

        return CoverageLookups.ToArrays(found);
    }

    public override async Task<PersonEnrolment> BeginEnrolmentAsync(string memberCode, string idempotencyKey, long nik, CancellationToken cancellationToken)
    {
        var db = await RentAsync(cancellationToken);
        var enrolment = new Person(db, _outbox);
        try
        {
            await enrolment.LockAndFindAsync(memberCode, idempotencyKey, nik, cancellationToken);
            return enrolment;
        }
        catch
        {
            await enrolment.DisposeAsync();
            throw;
        }
    }

    protected override async Task LockPersonsAsync(MembershipDbContext db, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken)
    {
        if (ascendingNiks.Count == 0) return;
        var niks = ascendingNiks.ToArray();
        // The ordered subquery fixes the order in which the locks are taken.
        await db.Database.ExecuteSqlAsync(
            $"SELECT count(pg_advisory_xact_lock(n)) FROM (SELECT n FROM unnest({niks}) AS n ORDER BY n) AS ordered", cancellationToken);
    }

    /// <summary>Many events at once go in with one binary COPY, inside the change's transaction.</summary>
    protected internal override Task AddEventsAsync(MembershipDbContext db, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken) =>
        db.CopyOutboxMessagesAsync(messages, cancellationToken);

    /// <summary>The chunk's rows are copied in bulk, so nothing needs tracking.</summary>
    protected override IQueryable<ParticipantRecord> ChunkParticipants(IQueryable<ParticipantRecord> participants) => participants.AsNoTracking();

    protected internal override async Task<IReadOnlyList<long>> AllocateSequencesAsync(MembershipDbContext db, int count, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var command = new NpgsqlCommand("SELECT nextval('participant_number_seq') FROM generate_series(1, $1)", connection)
        {
            Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction()
                ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction."),
            Parameters = { Integer(count) },
        };
        var ids = new List<long>(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
        return ids;
    }

    /// <summary>
    /// Binary COPY of the chunk's new participants, coverages, answers and events (no change tracking, no generated INSERT
    /// text), then the grown NIK warnings of persons already registered. A unique violation throws <see cref="PostgresException"/>.
    /// </summary>
    protected internal override async Task WriteChunkAsync(MembershipDbContext db, EnrolmentWrites writes, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await CopyAsync(connection, "participants", ParticipantColumns, writes.Participants, cancellationToken);
        await CopyAsync(connection, "coverages", CoverageColumns, writes.Coverages, cancellationToken);
        await CopyAsync(connection, "idempotency_records", AnswerColumns, writes.Answers, cancellationToken);
        await db.CopyOutboxMessagesAsync(writes.Events, cancellationToken);
        foreach (var warned in writes.WarnedAlreadyRegistered())
        {
            await db.Database.ExecuteSqlAsync($"UPDATE participants SET nik_warnings = {(short)warned.NikWarnings} WHERE id = {warned.Id}", cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await _lookups.DisposeAsync();

    private static async Task CopyAsync<T>(NpgsqlConnection connection, string table, Column<T>[] columns, List<T> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        await using var importer = await connection.BeginBinaryImportAsync(
            $"COPY {table} ({string.Join(", ", columns.Select(c => c.Name))}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(cancellationToken);
            foreach (var column in columns) await column.Copy(importer, row, cancellationToken);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    private static string Insert<T>(string table, Column<T>[] columns) =>
        $"INSERT INTO {table} ({string.Join(", ", columns.Select(c => c.Name))}) VALUES ({string.Join(", ", columns.Select((_, i) => $"${i + 1}"))})";

    private static NpgsqlBatchCommand InsertCommand<T>(string sql, Column<T>[] columns, T row)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var column in columns) command.Parameters.Add(column.Parameter(row));
        return command;
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);

    /// <summary>One enrolment on the context's own connection and an Npgsql transaction: two batches and the commit.</summary>
    private sealed class Person(MembershipDbContext db, OutboxSignal<MembershipDbContext> outbox) : PersonEnrolment
    {
#pragma warning disable CA2213 // The context's own connection: closed through the context, disposed with it.
        private NpgsqlConnection? _connection;
#pragma warning restore CA2213
        private NpgsqlTransaction? _transaction;

        /// <summary>
        /// Takes the person's lock, then, seeing everything committed before it was granted: the key's stored answer, the
        /// person with their coverages, and a participant-number sequence only when the NIK is not registered yet.
        /// </summary>
        public async Task LockAndFindAsync(string memberCode, string idempotencyKey, long nik, CancellationToken cancellationToken)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
            _connection = (NpgsqlConnection)db.Database.GetDbConnection();
            _transaction = await _connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(_connection, _transaction)
            {
                BatchCommands =
                {
                    // Every statement after it in the batch sees what the previous holder of the lock committed.
                    new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { Bigint(nik) } },
                    new NpgsqlBatchCommand("SELECT request_fingerprint, response FROM idempotency_records WHERE member_code = $1 AND idempotency_key = $2")
                    {
                        Parameters = { Text(memberCode), Text(idempotencyKey) },
                    },
                    new NpgsqlBatchCommand(FindPerson) { Parameters = { Bigint(nik) } },
                    // The WHERE runs before the target list, so a registered NIK costs no number.
                    new NpgsqlBatchCommand("SELECT nextval('participant_number_seq') WHERE NOT EXISTS (SELECT 1 FROM participants WHERE nik = $1)")
                    {
                        Parameters = { Bigint(nik) },
                    },
                },
            };
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);

            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken)) Stored = new StoredAnswer(reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<byte[]>(1));

            await reader.NextResultAsync(cancellationToken);
            var coverageId = ParticipantColumns.Length;
            while (await reader.ReadAsync(cancellationToken))
            {
                if (Participant is null)
                {
                    Participant = new ParticipantRecord();
                    for (var i = 0; i < ParticipantColumns.Length; i++) ParticipantColumns[i].Read!(reader, i, Participant);
                }

                if (await reader.IsDBNullAsync(coverageId, cancellationToken)) continue;
                var coverage = new CoverageRecord { Id = reader.GetInt64(coverageId) };
                for (var i = 0; i < CoverageColumns.Length; i++) CoverageColumns[i].Read!(reader, coverageId + 1 + i, coverage);
                Participant.Coverages.Add(coverage);
            }

            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken)) NewId = reader.GetInt64(0);
        }

        /// <summary>Every insert and update in one batch, then the commit.</summary>
        public override async Task<bool> SaveAsync(EnrolmentWrites writes, CancellationToken cancellationToken)
        {
            await using (var batch = new NpgsqlBatch(_connection, _transaction))
            {
                foreach (var participant in writes.Participants) batch.BatchCommands.Add(InsertCommand(InsertParticipant, ParticipantColumns, participant));
                foreach (var warned in writes.WarnedAlreadyRegistered())
                {
                    batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE participants SET nik_warnings = $1 WHERE id = $2")
                    {
                        Parameters = { Smallint((short)warned.NikWarnings), Bigint(warned.Id) },
                    });
                }

                foreach (var coverage in writes.Coverages) batch.BatchCommands.Add(InsertCommand(InsertCoverage, CoverageColumns, coverage));
                foreach (var answer in writes.Answers) batch.BatchCommands.Add(InsertCommand(InsertAnswer, AnswerColumns, answer));
                foreach (var message in OutboxEventGroup.Rows(writes.Events)) batch.BatchCommands.Add(OutboxStatements.Insert(message));
                try
                {
                    if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException ex) when (ex.IsUniqueViolation())
                {
                    // Another request with this key (so another NIK, or the lock would have queued it) committed first.
                    return false;
                }
            }

            await _transaction!.CommitAsync(cancellationToken);
            outbox.Notify();
            return true;
        }

        public override async ValueTask DisposeAsync()
        {
            try
            {
                if (_transaction is not null) await _transaction.DisposeAsync();
                if (_connection is not null) await db.Database.CloseConnectionAsync();
            }
            finally
            {
                await db.DisposeAsync();
            }
        }
    }
}
