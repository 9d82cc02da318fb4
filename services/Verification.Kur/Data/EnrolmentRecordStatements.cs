using Npgsql;
using Verification.Kur.Domain;
using Verification.Domain;
using Verification.Platform.Outbox;
using static Verification.Platform.Data.PostgresParameters;

namespace Verification.Kur.Data;

/// <summary>
/// KUR's lookup and two writes per enrolment on PostgreSQL as one hand-written statement each, the event's outbox row included, so
/// each is one round trip and its own transaction: EF Core's path costs a transaction of three round trips for the
/// answer and builds its SQL and a parameter per column on every call.
/// </summary>
internal static class EnrolmentRecordStatements
{
    private const string Columns =
        "bank_code, loan_reference, scheme, loan_amount_rupiah, disbursement_date, masked_nik, nik_hmac, full_name_hmac, birth_date_hmac, sex, "
        + "business_sector, region_code, declared_monthly_income_rupiah, outcome, coverage_start_date, recorded_at, programs, participant_number, "
        + "monthly_contribution_rupiah, first_due_date, state, create_member_code, create_time, create_month";

    private const int ColumnCount = 24;

    private static readonly string Insert =
        $"INSERT INTO kur_enrolments ({Columns}) VALUES ({string.Join(", ", Enumerable.Range(1, ColumnCount).Select(i => $"${i}"))}) "
        + "ON CONFLICT (bank_code, loan_reference) DO NOTHING";

    // The event row is inserted only if the record was: both or neither, in one statement.
    private static readonly string InsertWithEvent =
        $"WITH claimed AS ({Insert} RETURNING 1) INSERT INTO outbox_messages ({OutboxStatements.Columns}) "
        + $"SELECT {OutboxStatements.Placeholders(ColumnCount + 1)} FROM claimed";

    // RecordedAt IS NULL: of concurrent retries, exactly one answers the claim and writes the event.
    private static readonly string Answer =
        "WITH answered AS (UPDATE kur_enrolments SET outcome = $3, programs = $4, participant_number = $5, monthly_contribution_rupiah = $6, "
        + "first_due_date = $7, recorded_at = $8 WHERE bank_code = $1 AND loan_reference = $2 AND recorded_at IS NULL RETURNING 1) "
        + $"INSERT INTO outbox_messages ({OutboxStatements.Columns}) SELECT {OutboxStatements.Placeholders(9)} FROM answered";

    private static readonly string Find =
        $"SELECT {Columns}, cancel_reason, cancel_member_code, cancel_time, cancel_end_date, ended_programs FROM kur_enrolments "
        + "WHERE bank_code = $1 AND loan_reference = $2";

    /// <summary>The row of one key (a claim or a record), or null.</summary>
    public static async Task<KurEnrolmentRecord?> FindAsync(NpgsqlConnection connection, string bankCode, string loanReference, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Find, connection) { Parameters = { Text(bankCode), Text(loanReference) } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new KurEnrolmentRecord
        {
            BankCode = reader.GetString(0),
            LoanReference = reader.GetString(1),
            Scheme = StoredNames.Parse<LoanScheme>(reader.GetString(2)),
            LoanAmountRupiah = reader.GetInt64(3),
            DisbursementDate = reader.GetFieldValue<DateOnly>(4),
            MaskedNik = reader.GetString(5),
            NikHmac = reader.GetFieldValue<byte[]>(6),
            FullNameHmac = reader.GetFieldValue<byte[]>(7),
            BirthDateHmac = reader.GetFieldValue<byte[]>(8),
            Sex = StoredNames.Parse<Sex>(reader.GetString(9)),
            BusinessSector = reader.GetString(10),
            RegionCode = reader.GetString(11),
            DeclaredMonthlyIncomeRupiah = reader.GetInt64(12),
            Outcome = StoredNames.Parse<EnrolmentOutcomeKind>(reader.GetString(13)),
            CoverageStartDate = reader.IsDBNull(14) ? null : reader.GetFieldValue<DateOnly>(14),
            RecordedAt = reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15),
            Programs = reader.GetString(16),
            ParticipantNumber = reader.IsDBNull(17) ? null : reader.GetString(17),
            MonthlyContributionRupiah = reader.IsDBNull(18) ? null : reader.GetInt64(18),
            FirstDueDate = reader.IsDBNull(19) ? null : reader.GetFieldValue<DateOnly>(19),
            State = StoredNames.Parse<EnrolmentRecordState>(reader.GetString(20)),
            CreateMemberCode = reader.GetString(21),
            CreateTime = reader.GetFieldValue<DateTimeOffset>(22),
            CreateMonth = reader.GetInt32(23),
            CancelReason = reader.IsDBNull(24) ? null : StoredNames.Parse<CancellationReasonKind>(reader.GetString(24)),
            CancelMemberCode = reader.IsDBNull(25) ? null : reader.GetString(25),
            CancelTime = reader.IsDBNull(26) ? null : reader.GetFieldValue<DateTimeOffset>(26),
            CancelEndDate = reader.IsDBNull(27) ? null : reader.GetFieldValue<DateOnly>(27),
            EndedPrograms = reader.IsDBNull(28) ? null : reader.GetString(28),
        };
    }

    /// <summary>Inserts the record (a claim, or a complete record with its event); false when the key is taken.</summary>
    public static async Task<bool> TryInsertAsync(NpgsqlConnection connection, KurEnrolmentRecord record, OutboxMessage? answered, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(answered is null ? Insert : InsertWithEvent, connection)
        {
            Parameters =
            {
                Text(record.BankCode), Text(record.LoanReference), Text(StoredNames.Of(record.Scheme)), Bigint(record.LoanAmountRupiah),
                Date(record.DisbursementDate), Text(record.MaskedNik), Bytea(record.NikHmac), Bytea(record.FullNameHmac), Bytea(record.BirthDateHmac),
                Text(StoredNames.Of(record.Sex)), Text(record.BusinessSector), Text(record.RegionCode), Bigint(record.DeclaredMonthlyIncomeRupiah),
                Text(StoredNames.Of(record.Outcome)), NullableDate(record.CoverageStartDate), NullableInstant(record.RecordedAt), Text(record.Programs),
                NullableText(record.ParticipantNumber), NullableBigint(record.MonthlyContributionRupiah), NullableDate(record.FirstDueDate),
                Text(StoredNames.Of(record.State)), Text(record.CreateMemberCode), Instant(record.CreateTime), Integer(record.CreateMonth),
            },
        };
        if (answered is not null)
        {
            foreach (var parameter in OutboxStatements.Parameters(answered)) command.Parameters.Add(parameter);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Records the answer on a claim and its event; false when a concurrent retry answered it first (nothing written).</summary>
    public static async Task<bool> TryAnswerAsync(NpgsqlConnection connection, KurEnrolmentRecord answered, OutboxMessage message, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Answer, connection)
        {
            Parameters =
            {
                Text(answered.BankCode), Text(answered.LoanReference), Text(StoredNames.Of(answered.Outcome)), Text(answered.Programs),
                NullableText(answered.ParticipantNumber), NullableBigint(answered.MonthlyContributionRupiah), NullableDate(answered.FirstDueDate),
                NullableInstant(answered.RecordedAt),
            },
        };
        foreach (var parameter in OutboxStatements.Parameters(message)) command.Parameters.Add(parameter);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
