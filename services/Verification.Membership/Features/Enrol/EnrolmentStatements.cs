using Npgsql;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Platform.Outbox;
using static Verification.Platform.Data.PostgresParameters;

namespace Verification.Membership.Features.Enrol;

/// <summary>What one enrolment finds under its person's lock: the key's stored answer, the person, a new number if needed.</summary>
internal sealed record EnrolmentFindings((byte[] Fingerprint, byte[] Response)? Answer, ParticipantRecord? Participant, long? NewId);

/// <summary>
/// A single enrolment on PostgreSQL as two batched round trips inside the caller's transaction (then the commit): the
/// lock and every read in the first, every insert in the second. EF Core's path costs seven round trips and builds its
/// SQL and a parameter object per column on each call; this is the registry's hottest write (KUR calls it per loan).
/// </summary>
internal static class EnrolmentStatements
{
    /// <summary>
    /// Takes the person's lock, then, seeing everything committed before it was granted: the key's stored answer, the
    /// person with their coverages, and a participant-number sequence only when the NIK is not registered yet.
    /// </summary>
    public static async Task<EnrolmentFindings> LockAndFindAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string memberCode, string idempotencyKey, long nik, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                // Every statement after it in the batch sees what the previous holder of the lock committed.
                new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { Bigint(nik) } },
                new NpgsqlBatchCommand("SELECT request_fingerprint, response FROM idempotency_records WHERE member_code = $1 AND idempotency_key = $2")
                {
                    Parameters = { Text(memberCode), Text(idempotencyKey) },
                },
                new NpgsqlBatchCommand(
                    "SELECT p.id, p.full_name, p.birth_date, p.sex, p.nik_warnings, p.created_at, c.id, c.programs, c.segment, c.employer_number, "
                    + "c.channel, c.channel_reference, c.monthly_income, c.start_date, c.end_date, c.end_reason, c.created_at "
                    + "FROM participants p LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik = $1 ORDER BY c.id")
                {
                    Parameters = { Bigint(nik) },
                },
                // The WHERE runs before the target list, so a registered NIK costs no number.
                new NpgsqlBatchCommand("SELECT nextval('participant_number_seq') WHERE NOT EXISTS (SELECT 1 FROM participants WHERE nik = $1)")
                {
                    Parameters = { Bigint(nik) },
                },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);

        await reader.NextResultAsync(cancellationToken);
        (byte[], byte[])? answer = await reader.ReadAsync(cancellationToken)
            ? (reader.GetFieldValue<byte[]>(0), reader.GetFieldValue<byte[]>(1))
            : null;

        await reader.NextResultAsync(cancellationToken);
        ParticipantRecord? participant = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            participant ??= new ParticipantRecord
            {
                Id = reader.GetInt64(0),
                Nik = nik,
                FullName = reader.GetString(1),
                BirthDate = reader.GetFieldValue<DateOnly>(2),
                Sex = StoredCodes.Sex(reader.GetInt16(3)),
                NikWarnings = reader.GetInt16(4),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(5),
            };
            if (await reader.IsDBNullAsync(6, cancellationToken)) continue;
            participant.Coverages.Add(new CoverageRecord
            {
                Id = reader.GetInt64(6),
                ParticipantId = participant.Id,
                Programs = new ProgramSet(reader.GetInt16(7)),
                Segment = StoredCodes.Segment(reader.GetInt16(8)),
                EmployerNumber = reader.IsDBNull(9) ? null : reader.GetString(9),
                Channel = reader.IsDBNull(10) ? null : (CoverageChannel)reader.GetInt16(10),
                ChannelReference = reader.IsDBNull(11) ? null : reader.GetString(11),
                MonthlyIncome = reader.GetInt64(12),
                StartDate = reader.GetFieldValue<DateOnly>(13),
                EndDate = reader.IsDBNull(14) ? null : reader.GetFieldValue<DateOnly>(14),
                EndReason = reader.IsDBNull(15) ? null : (CoverageEndReason)reader.GetInt16(15),
                CreatedAt = reader.GetFieldValue<DateTimeOffset>(16),
            });
        }

        await reader.NextResultAsync(cancellationToken);
        long? newId = await reader.ReadAsync(cancellationToken) ? reader.GetInt64(0) : null;
        return new EnrolmentFindings(answer, participant, newId);
    }

    /// <summary>Inserts one enrolment's rows and events in one round trip, inside the caller's transaction.</summary>
    public static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, EnrolmentWrites writes, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var p in writes.Participants)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                "INSERT INTO participants (id, nik, full_name, birth_date, sex, nik_warnings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            {
                Parameters =
                {
                    Bigint(p.Id), Bigint(p.Nik), Text(p.FullName), Date(p.BirthDate),
                    Smallint(StoredCodes.Sex(p.Sex)), Smallint((short)p.NikWarnings), Instant(p.CreatedAt),
                },
            });
        }

        foreach (var warned in writes.WarnedAlreadyRegistered())
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("UPDATE participants SET nik_warnings = $1 WHERE id = $2")
            {
                Parameters = { Smallint((short)warned.NikWarnings), Bigint(warned.Id) },
            });
        }

        foreach (var c in writes.Coverages)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                "INSERT INTO coverages (participant_id, programs, segment, employer_number, channel, channel_reference, monthly_income, start_date, end_date, end_reason, created_at) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            {
                Parameters =
                {
                    Bigint(c.ParticipantId), Smallint((short)c.Programs.Bits), Smallint(StoredCodes.Segment(c.Segment)), NullableText(c.EmployerNumber),
                    NullableSmallint(c.Channel is { } channel ? (short)channel : null), NullableText(c.ChannelReference), Bigint(c.MonthlyIncome),
                    Date(c.StartDate),
                    NullableDate(c.EndDate),
                    NullableSmallint(c.EndReason is { } reason ? (short)reason : null), Instant(c.CreatedAt),
                },
            });
        }

        foreach (var a in writes.Answers)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                "INSERT INTO idempotency_records (member_code, idempotency_key, request_fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)")
            {
                Parameters = { Text(a.MemberCode), Text(a.IdempotencyKey), Bytea(a.RequestFingerprint), Bytea(a.Response), Instant(a.CreatedAt) },
            });
        }

        foreach (var message in writes.Events) batch.BatchCommands.Add(OutboxStatements.Insert(message));
        if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
