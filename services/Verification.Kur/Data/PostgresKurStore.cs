using Npgsql;
using Verification.Domain;
using Verification.Kur.Domain;
using Verification.Platform.Outbox;
using static Verification.Platform.Data.PostgresParameters;

namespace Verification.Kur.Data;

/// <summary>
/// KUR's records on PostgreSQL: the lookup and the enrolment's two writes are one hand-written statement each, the event's
/// outbox row included, so each is one round trip. EF Core's path costs a transaction of three round trips for the answer
/// and builds its SQL and a parameter per column on every call (docs/benchmarks.md, "## KUR"). The writes of concurrent
/// enrolments share a batch and its commit (<see cref="PostgresKurWrites"/>), and all three run on its connections, where
/// each is planned once per connection and only the primary key can serve it.
/// </summary>
internal sealed class PostgresKurStore(KurDbContext db, PostgresKurWrites writes) : KurStore(db)
{
    /// <summary>A column of kur_enrolments: its name, how a row's value is read back, and the parameter that writes it.</summary>
    private sealed record Column(string Name, Action<NpgsqlDataReader, int, KurEnrolmentRecord> Read, Func<KurEnrolmentRecord, NpgsqlParameter>? Write = null)
    {
        public NpgsqlParameter Parameter(KurEnrolmentRecord record) => Write!(record);
    }

    // What a claim (or a covered borrower's record) writes; a new column is one line here, in its order.
    private static readonly Column[] Inserted =
    [
        new("bank_code", (d, i, r) => r.BankCode = d.GetString(i), r => Text(r.BankCode)),
        new("loan_reference", (d, i, r) => r.LoanReference = d.GetString(i), r => Text(r.LoanReference)),
        new("scheme", (d, i, r) => r.Scheme = StoredNames.Parse<LoanScheme>(d.GetString(i)), r => Text(StoredNames.Of(r.Scheme))),
        new("loan_amount_rupiah", (d, i, r) => r.LoanAmountRupiah = d.GetInt64(i), r => Bigint(r.LoanAmountRupiah)),
        new("disbursement_date", (d, i, r) => r.DisbursementDate = d.GetFieldValue<DateOnly>(i), r => Date(r.DisbursementDate)),
        new("masked_nik", (d, i, r) => r.MaskedNik = d.GetString(i), r => Text(r.MaskedNik)),
        new("nik_hmac", (d, i, r) => r.NikHmac = d.GetFieldValue<byte[]>(i), r => Bytea(r.NikHmac)),
        new("full_name_hmac", (d, i, r) => r.FullNameHmac = d.GetFieldValue<byte[]>(i), r => Bytea(r.FullNameHmac)),
        new("birth_date_hmac", (d, i, r) => r.BirthDateHmac = d.GetFieldValue<byte[]>(i), r => Bytea(r.BirthDateHmac)),
        new("sex", (d, i, r) => r.Sex = StoredNames.Parse<Sex>(d.GetString(i)), r => Text(StoredNames.Of(r.Sex))),
        new("business_sector", (d, i, r) => r.BusinessSector = d.GetString(i), r => Text(r.BusinessSector)),
        new("region_code", (d, i, r) => r.RegionCode = d.GetString(i), r => Text(r.RegionCode)),
        new("declared_monthly_income_rupiah", (d, i, r) => r.DeclaredMonthlyIncomeRupiah = d.GetInt64(i), r => Bigint(r.DeclaredMonthlyIncomeRupiah)),
        new("outcome", (d, i, r) => r.Outcome = StoredNames.Parse<EnrolmentOutcomeKind>(d.GetString(i)), r => Text(StoredNames.Of(r.Outcome))),
        new("coverage_start_date", (d, i, r) => r.CoverageStartDate = NullOr<DateOnly>(d, i), r => NullableDate(r.CoverageStartDate)),
        new("recorded_at", (d, i, r) => r.RecordedAt = NullOr<DateTimeOffset>(d, i), r => NullableInstant(r.RecordedAt)),
        new("programs", (d, i, r) => r.Programs = d.GetString(i), r => Text(r.Programs)),
        new("participant_number", (d, i, r) => r.ParticipantNumber = d.IsDBNull(i) ? null : d.GetString(i), r => NullableText(r.ParticipantNumber)),
        new("monthly_contribution_rupiah", (d, i, r) => r.MonthlyContributionRupiah = NullOr<long>(d, i), r => NullableBigint(r.MonthlyContributionRupiah)),
        new("first_due_date", (d, i, r) => r.FirstDueDate = NullOr<DateOnly>(d, i), r => NullableDate(r.FirstDueDate)),
        new("state", (d, i, r) => r.State = StoredNames.Parse<EnrolmentRecordState>(d.GetString(i)), r => Text(StoredNames.Of(r.State))),
        new("create_member_code", (d, i, r) => r.CreateMemberCode = d.GetString(i), r => Text(r.CreateMemberCode)),
        new("create_time", (d, i, r) => r.CreateTime = d.GetFieldValue<DateTimeOffset>(i), r => Instant(r.CreateTime)),
        new("create_month", (d, i, r) => r.CreateMonth = d.GetInt32(i), r => Integer(r.CreateMonth)),
    ];

    // Written by cancellations (EF Core's, on the base class), read back with the rest.
    private static readonly Column[] Stored =
    [
        .. Inserted,
        new("cancel_reason", (d, i, r) => r.CancelReason = d.IsDBNull(i) ? null : StoredNames.Parse<CancellationReasonKind>(d.GetString(i))),
        new("cancel_member_code", (d, i, r) => r.CancelMemberCode = d.IsDBNull(i) ? null : d.GetString(i)),
        new("cancel_time", (d, i, r) => r.CancelTime = NullOr<DateTimeOffset>(d, i)),
        new("cancel_end_date", (d, i, r) => r.CancelEndDate = NullOr<DateOnly>(d, i)),
        new("ended_programs", (d, i, r) => r.EndedPrograms = d.IsDBNull(i) ? null : d.GetString(i)),
    ];

    // What an answer sets on a claim, after the key ($1, $2).
    private static readonly Column[] Answered =
        [.. new[] { "outcome", "programs", "participant_number", "monthly_contribution_rupiah", "first_due_date", "recorded_at" }.Select(name => Inserted.Single(c => c.Name == name))];

    private static readonly string Insert =
        $"INSERT INTO kur_enrolments ({Names(Inserted)}) VALUES ({string.Join(", ", Enumerable.Range(1, Inserted.Length).Select(i => $"${i}"))}) "
        + "ON CONFLICT (bank_code, loan_reference) DO NOTHING";

    // The event row is inserted only if the record was: both or neither, in one statement.
    private static readonly string InsertWithEvent =
        $"WITH claimed AS ({Insert} RETURNING 1) INSERT INTO outbox_messages ({OutboxStatements.Columns}) "
        + $"SELECT {OutboxStatements.Placeholders(Inserted.Length + 1)} FROM claimed";

    // recorded_at IS NULL: of concurrent retries, exactly one answers the claim and writes the event.
    private static readonly string Answer =
        $"WITH answered AS (UPDATE kur_enrolments SET {string.Join(", ", Answered.Select((c, i) => $"{c.Name} = ${i + 3}"))} "
        + "WHERE bank_code = $1 AND loan_reference = $2 AND recorded_at IS NULL RETURNING 1) "
        + $"INSERT INTO outbox_messages ({OutboxStatements.Columns}) SELECT {OutboxStatements.Placeholders(Answered.Length + 3)} FROM answered";

    private static readonly string Find = $"SELECT {Names(Stored)} FROM kur_enrolments WHERE bank_code = $1 AND loan_reference = $2";

    /// <summary>Every statement this store runs by key, as sent: their plans are proven by KeyedStatementPlanTests.</summary>
    internal static IReadOnlyList<string> KeyedStatements => [Find, Insert, InsertWithEvent, Answer];

    public override async Task<KurEnrolmentRecord?> FindAsync(string bankCode, string loanReference, CancellationToken cancellationToken)
    {
        await using var connection = await writes.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(Find, connection) { Parameters = { Text(bankCode), Text(loanReference) } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        var record = new KurEnrolmentRecord();
        for (var i = 0; i < Stored.Length; i++) Stored[i].Read(reader, i, record);
        return record;
    }

    public override Task<bool> TryInsertAsync(KurEnrolmentRecord record, OutboxMessage? answered, CancellationToken cancellationToken) =>
        writes.ExecuteAsync(record.BankCode, record.LoanReference, () => ClaimStatement(record, answered), carriesEvent: answered is not null, cancellationToken);

    public override Task<bool> TryAnswerAsync(KurEnrolmentRecord claim, ClaimAnswer answer, OutboxMessage answered, CancellationToken cancellationToken)
    {
        answer.ApplyTo(claim);
        return writes.ExecuteAsync(claim.BankCode, claim.LoanReference, () => AnswerStatement(claim, answered), carriesEvent: true, cancellationToken);
    }

    /// <summary>The claim (or a covered borrower's complete record with its event); changes one row unless the key is taken.</summary>
    internal static NpgsqlBatchCommand ClaimStatement(KurEnrolmentRecord record, OutboxMessage? answered)
    {
        var command = new NpgsqlBatchCommand(answered is null ? Insert : InsertWithEvent);
        foreach (var column in Inserted) command.Parameters.Add(column.Parameter(record));
        if (answered is not null)
        {
            foreach (var parameter in OutboxStatements.Parameters(answered)) command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary>The answer as <paramref name="claim"/> holds it, with its event; changes one row unless the claim was answered already.</summary>
    internal static NpgsqlBatchCommand AnswerStatement(KurEnrolmentRecord claim, OutboxMessage answered)
    {
        var command = new NpgsqlBatchCommand(Answer) { Parameters = { Text(claim.BankCode), Text(claim.LoanReference) } };
        foreach (var column in Answered) command.Parameters.Add(column.Parameter(claim));
        foreach (var parameter in OutboxStatements.Parameters(answered)) command.Parameters.Add(parameter);
        return command;
    }

    private static string Names(Column[] columns) => string.Join(", ", columns.Select(c => c.Name));

    private static T? NullOr<T>(NpgsqlDataReader reader, int ordinal)
        where T : struct => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
}
