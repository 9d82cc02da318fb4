using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
using Verification.Membership.Data;
using Verification.Membership.Features.Enrol;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Membership.Features;

/// <summary>
/// How registry writes are serialised on each provider. PostgreSQL: a transaction-scoped advisory lock on the NIK (a
/// bigint already), so every writer of one person queues, in any process. SQLite: the platform's in-process write gate
/// and an IMMEDIATE transaction (one writer per file anyway).
/// </summary>
internal static class RegistryWrites
{
    public static bool IsPostgres(this MembershipDbContext db) => db.Database.IsNpgsql();

    /// <summary>On PostgreSQL, holds the person's lock until the transaction ends; on SQLite the write transaction already excludes everyone.</summary>
    public static async Task LockPersonAsync(this MembershipDbContext db, long nik, CancellationToken cancellationToken)
    {
        if (db.IsPostgres()) await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({nik})", cancellationToken);
    }

    /// <summary>
    /// On PostgreSQL, holds the locks of several persons until the transaction ends, taken in ascending NIK order so two
    /// chunks sharing persons never wait on each other in a cycle; on SQLite the write transaction already excludes everyone.
    /// </summary>
    public static async Task LockPersonsAsync(this MembershipDbContext db, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken)
    {
        if (!db.IsPostgres() || ascendingNiks.Count == 0) return;
        var niks = ascendingNiks.ToArray();
        // The ordered subquery fixes the order in which the locks are taken.
        await db.Database.ExecuteSqlAsync(
            $"SELECT count(pg_advisory_xact_lock(n)) FROM (SELECT n FROM unnest({niks}) AS n ORDER BY n) AS ordered", cancellationToken);
    }

    /// <summary>
    /// <paramref name="count"/> new participant-number sequences, inside the caller's transaction, in one statement: a
    /// block of <c>nextval</c> on PostgreSQL; on SQLite the counter row moved by <paramref name="count"/> at once.
    /// </summary>
    public static async Task<IReadOnlyList<long>> AllocateSequencesAsync(this MembershipDbContext db, int count, CancellationToken cancellationToken)
    {
        if (count == 0) return [];
        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction.");
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@count";
        parameter.Value = count;
        command.Parameters.Add(parameter);
        if (db.IsPostgres())
        {
            command.CommandText = "SELECT nextval('participant_number_seq') FROM generate_series(1, @count)";
            var ids = new List<long>(count);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
            return ids;
        }

        command.CommandText = "UPDATE participant_number_counter SET last_sequence = last_sequence + @count WHERE id = 1 RETURNING last_sequence";
        var last = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, count).Select(i => last - count + 1 + i)];
    }

    /// <summary>
    /// The next participant-number sequence, inside the caller's transaction: <c>nextval</c> on PostgreSQL; on SQLite
    /// the counter row, incremented by the transaction that will insert the participant.
    /// </summary>
    public static async Task<long> AllocateSequenceAsync(this MembershipDbContext db, CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction.");
        command.CommandText = db.IsPostgres()
            ? "SELECT nextval('participant_number_seq')"
            : "UPDATE participant_number_counter SET last_sequence = last_sequence + 1 WHERE id = 1 RETURNING last_sequence";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// PostgreSQL: writes a chunk's new participants, coverages, answers and events with binary <c>COPY</c> (no change
    /// tracking, no generated INSERT text), and the grown NIK warnings of persons already registered, inside the caller's
    /// transaction. A unique violation (a key or NIK committed concurrently) throws <see cref="PostgresException"/>.
    /// </summary>
    public static async Task CopyAsync(this MembershipDbContext db, EnrolmentWrites writes, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null) throw new InvalidOperationException("Enrolments are copied inside their transaction.");
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (writes.Participants.Count > 0)
        {
            await using var participants = await connection.BeginBinaryImportAsync(
                "COPY participants (id, nik, full_name, birth_date, sex, nik_warnings, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
            foreach (var p in writes.Participants)
            {
                await participants.StartRowAsync(cancellationToken);
                await participants.WriteAsync(p.Id, NpgsqlDbType.Bigint, cancellationToken);
                await participants.WriteAsync(p.Nik, NpgsqlDbType.Bigint, cancellationToken);
                await participants.WriteAsync(p.FullName, NpgsqlDbType.Text, cancellationToken);
                await participants.WriteAsync(p.BirthDate, NpgsqlDbType.Date, cancellationToken);
                await participants.WriteAsync(StoredCodes.Sex(p.Sex), NpgsqlDbType.Smallint, cancellationToken);
                await participants.WriteAsync((short)p.NikWarnings, NpgsqlDbType.Smallint, cancellationToken);
                await participants.WriteAsync(p.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await participants.CompleteAsync(cancellationToken);
        }

        if (writes.Coverages.Count > 0)
        {
            await using var coverages = await connection.BeginBinaryImportAsync(
                "COPY coverages (participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at) FROM STDIN (FORMAT BINARY)",
                cancellationToken);
            foreach (var c in writes.Coverages)
            {
                await coverages.StartRowAsync(cancellationToken);
                await coverages.WriteAsync(c.ParticipantId, NpgsqlDbType.Bigint, cancellationToken);
                await coverages.WriteAsync((short)c.Programs.Bits, NpgsqlDbType.Smallint, cancellationToken);
                await coverages.WriteAsync(StoredCodes.Segment(c.Segment), NpgsqlDbType.Smallint, cancellationToken);
                await WriteNullableAsync(coverages, c.EmployerNumber, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(coverages, c.Channel is { } channel ? (short?)channel : null, NpgsqlDbType.Smallint, cancellationToken);
                await WriteNullableAsync(coverages, c.ChannelReference, NpgsqlDbType.Text, cancellationToken);
                await coverages.WriteAsync(c.MonthlyIncome, NpgsqlDbType.Bigint, cancellationToken);
                await coverages.WriteAsync(c.StartDate, NpgsqlDbType.Date, cancellationToken);
                await WriteNullableAsync(coverages, c.EndDate, NpgsqlDbType.Date, cancellationToken);
                await WriteNullableAsync(coverages, c.EndReason is { } reason ? (short?)reason : null, NpgsqlDbType.Smallint, cancellationToken);
                await coverages.WriteAsync(c.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await coverages.CompleteAsync(cancellationToken);
        }

        if (writes.Answers.Count > 0)
        {
            await using var answers = await connection.BeginBinaryImportAsync(
                "COPY idempotency_records (member_code, idempotency_key, request_fingerprint, response, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
            foreach (var a in writes.Answers)
            {
                await answers.StartRowAsync(cancellationToken);
                await answers.WriteAsync(a.MemberCode, NpgsqlDbType.Text, cancellationToken);
                await answers.WriteAsync(a.IdempotencyKey, NpgsqlDbType.Text, cancellationToken);
                await answers.WriteAsync(a.RequestFingerprint, NpgsqlDbType.Bytea, cancellationToken);
                await answers.WriteAsync(a.Response, NpgsqlDbType.Bytea, cancellationToken);
                await answers.WriteAsync(a.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await answers.CompleteAsync(cancellationToken);
        }

        await db.CopyOutboxMessagesAsync(writes.Events, cancellationToken);

        foreach (var warned in writes.WarnedAlreadyRegistered())
        {
            await db.Database.ExecuteSqlAsync($"UPDATE participants SET nik_warnings = {(short)warned.NikWarnings} WHERE id = {warned.Id}", cancellationToken);
        }
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);
}
