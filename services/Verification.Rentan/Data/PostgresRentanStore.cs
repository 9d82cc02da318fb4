using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Platform.Outbox;

namespace Verification.Rentan.Data;

/// <summary>
/// PostgreSQL (microservices mode): the agreement's lock is <c>SELECT … FOR UPDATE</c> on its row, so two uploads of one
/// sponsor queue on it in any process; bulk writes are one statement over array parameters (<c>unnest</c>) per chunk of
/// rows, and events go in with binary COPY, inside the change's transaction.
/// </summary>
internal sealed class PostgresRentanStore(DbContextOptions<RentanDbContext> options, WorkerNikCipher cipher) : RentanStore(options, cipher)
{
    /// <summary>Rows per statement: large enough to amortise the round trip, small enough to keep the arrays modest.</summary>
    private const int RowsPerStatement = 10_000;

    /// <summary>One column of rentan_sponsorships as a claim inserts it: its name, its array type and the array of the rows' values.</summary>
    private sealed record Column(string Name, NpgsqlDbType Type, Func<IReadOnlyList<SponsorshipRecord>, object> Values);

    // A new column is one line here, in the table's order.
    private static readonly Column[] SponsorshipColumns =
    [
        new("sponsorship_id", NpgsqlDbType.Text, r => r.Select(s => s.SponsorshipId).ToArray()),
        new("agreement_id", NpgsqlDbType.Text, r => r.Select(s => s.AgreementId).ToArray()),
        new("sponsor_code", NpgsqlDbType.Text, r => r.Select(s => s.SponsorCode).ToArray()),
        new("year", NpgsqlDbType.Integer, r => r.Select(s => s.Year).ToArray()),
        new("nik_hash", NpgsqlDbType.Text, r => r.Select(s => s.NikHash).ToArray()),
        new("full_name", NpgsqlDbType.Text, r => r.Select(s => s.FullName).ToArray()),
        new("birth_date", NpgsqlDbType.Date, r => r.Select(s => s.BirthDate).ToArray()),
        new("sex", NpgsqlDbType.Text, r => r.Select(s => StoredNames.Of(s.Sex)).ToArray()),
        new("declared_income", NpgsqlDbType.Bigint, r => r.Select(s => s.DeclaredIncome).ToArray()),
        new("decile", NpgsqlDbType.Smallint, r => r.Select(s => s.Decile).ToArray()),
        new("regency_code", NpgsqlDbType.Text, r => r.Select(s => s.RegencyCode).ToArray()),
        new("programs", NpgsqlDbType.Text, r => r.Select(s => s.Programs).ToArray()),
        new("start_date", NpgsqlDbType.Date, r => r.Select(s => s.StartDate).ToArray()),
        new("end_date", NpgsqlDbType.Date, r => r.Select(s => s.EndDate).ToArray()),
        new("committed", NpgsqlDbType.Bigint, r => r.Select(s => s.Committed).ToArray()),
        new("state", NpgsqlDbType.Text, r => r.Select(s => StoredNames.Of(s.State)).ToArray()),
        new("participant_number", NpgsqlDbType.Text, r => r.Select(s => s.ParticipantNumber).ToArray()),
        new("started_programs", NpgsqlDbType.Text, r => r.Select(s => s.StartedPrograms).ToArray()),
        new("end_reason", NpgsqlDbType.Text, r => r.Select(s => s.EndReason is { } reason ? StoredNames.Of(reason) : null).ToArray()),
        new("renewed_from", NpgsqlDbType.Text, r => r.Select(s => s.RenewedFrom).ToArray()),
        new("create_member_code", NpgsqlDbType.Text, r => r.Select(s => s.CreateMemberCode).ToArray()),
        new("create_time", NpgsqlDbType.TimestampTz, r => r.Select(s => s.CreateTime.ToUniversalTime()).ToArray()),
        new("update_time", NpgsqlDbType.TimestampTz, r => r.Select(s => s.UpdateTime.ToUniversalTime()).ToArray()),
        new("nik_sealed", NpgsqlDbType.Text, r => r.Select(s => s.NikSealed).ToArray()),
    ];

    private static readonly string InsertClaims =
        $"INSERT INTO rentan_sponsorships ({string.Join(", ", SponsorshipColumns.Select(c => c.Name))}) "
        + $"SELECT * FROM unnest({string.Join(", ", SponsorshipColumns.Select((_, i) => $"${i + 1}"))})";

    // Only after a plain insert met a person claimed for the year: ON CONFLICT inserts speculatively (a second WAL record
    // per row to confirm it), which cost 22-24 against 27-36 µs per row in PostgreSQL when nothing conflicts.
    private static readonly string InsertClaimsSkippingTaken = InsertClaims + " ON CONFLICT (nik_hash, year) DO NOTHING RETURNING sponsorship_id";

    private const string PersonYearIndex = "ux_rentan_sponsorships_person_year";

    private const string UpsertRows =
        "INSERT INTO rentan_extract_rows (sponsor_code, extract_date, nik_hash, household_id, decile, regency_code, poverty_category, nik_sealed) "
        + "SELECT $1, $2, * FROM unnest($3, $4, $5, $6, $7, $8) "
        + "ON CONFLICT (sponsor_code, extract_date, nik_hash) DO UPDATE SET household_id = excluded.household_id, decile = excluded.decile, "
        + "regency_code = excluded.regency_code, poverty_category = excluded.poverty_category";

    // state = 'PENDING': of two writers confirming one claim, exactly one confirms it (and writes its event).
    // "= ANY($1)" besides the join: an index condition on the key whatever the statistics say. With only the join, a plan made
    // on an emptier table's statistics hashed unnest against a scan of every sponsorship (46 ms per 1,000 rows at 35,000).
    private const string Confirm =
        "UPDATE rentan_sponsorships s SET state = 'ACTIVE', participant_number = v.participant_number, started_programs = v.started_programs, update_time = $4 "
        + "FROM unnest($1, $2, $3) AS v(sponsorship_id, participant_number, started_programs) "
        + "WHERE s.sponsorship_id = v.sponsorship_id AND s.sponsorship_id = ANY($1) AND s.state = 'PENDING' RETURNING s.sponsorship_id";

    private const string ConfirmRenewals =
        "UPDATE rentan_sponsorships SET state = 'ACTIVE', update_time = $2 WHERE sponsorship_id = ANY($1) AND state = 'PENDING' RETURNING sponsorship_id, renewed_from";

    private const string MarkRenewed =
        "UPDATE rentan_sponsorships SET state = 'RENEWED', update_time = $2 WHERE sponsorship_id = ANY($1) AND state = 'ACTIVE'";

    private const string End =
        "UPDATE rentan_sponsorships s SET state = 'ENDING', end_reason = v.end_reason, update_time = $3 "
        + "FROM unnest($1, $2) AS v(sponsorship_id, end_reason) "
        + "WHERE s.sponsorship_id = v.sponsorship_id AND s.sponsorship_id = ANY($1) AND s.state = 'ACTIVE' RETURNING s.sponsorship_id";

    public override async Task UpsertExtractRowsAsync(string sponsorCode, DateOnly extractDate, IReadOnlyList<ExtractRowRecord> rows, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            await using var command = new NpgsqlCommand(UpsertRows, connection)
            {
                Parameters =
                {
                    new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = sponsorCode },
                    new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Date, Value = extractDate },
                    Array(NpgsqlDbType.Text, chunk.Select(r => Cipher.Protect(r).NikHash).ToArray()),
                    Array(NpgsqlDbType.Text, chunk.Select(r => r.HouseholdId).ToArray()),
                    Array(NpgsqlDbType.Smallint, chunk.Select(r => r.Decile).ToArray()),
                    Array(NpgsqlDbType.Text, chunk.Select(r => r.RegencyCode).ToArray()),
                    Array(NpgsqlDbType.Text, chunk.Select(r => StoredNames.Of(r.Category)).ToArray()),
                    Array(NpgsqlDbType.Text, chunk.Select(r => r.NikSealed).ToArray()),
                },
            };
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public override async Task<IReadOnlySet<string>> ConfirmAsync(
        IReadOnlyList<Confirmation> confirmations, DateTimeOffset now, Func<string, IIntegrationEvent> confirmed, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await using var command = Command(db, Confirm,
            Array(NpgsqlDbType.Text, confirmations.Select(c => c.SponsorshipId).ToArray()),
            Array(NpgsqlDbType.Text, confirmations.Select(c => c.ParticipantNumber).ToArray()),
            Array(NpgsqlDbType.Text, confirmations.Select(c => c.StartedPrograms).ToArray()),
            Instant(now));
        var done = await ReadIdsAsync(command, cancellationToken);
        await AddEventsAsync(db, [.. done.Select(confirmed)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return done;
    }

    public override async Task<IReadOnlySet<string>> ConfirmRenewalsAsync(
        IReadOnlyList<string> renewalIds, DateTimeOffset now, Func<string, IIntegrationEvent> renewed, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var previous = new List<string>();
        await using (var command = Command(db, ConfirmRenewals, Array(NpgsqlDbType.Text, renewalIds.ToArray()), Instant(now)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                done.Add(reader.GetString(0));
                previous.Add(reader.GetString(1));
            }
        }

        await using (var mark = Command(db, MarkRenewed, Array(NpgsqlDbType.Text, previous.ToArray()), Instant(now)))
            await mark.ExecuteNonQueryAsync(cancellationToken);
        await AddEventsAsync(db, [.. done.Select(renewed)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return done;
    }

    public override async Task<IReadOnlySet<string>> EndAsync(
        IReadOnlyList<(string SponsorshipId, WorkerReasonKind Reason)> ends, DateTimeOffset now, Func<string, IIntegrationEvent> ended, CancellationToken cancellationToken)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in ends.Chunk(RowsPerStatement))
        {
            await using var db = await RentAsync(cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await using var command = Command(db, End,
                Array(NpgsqlDbType.Text, chunk.Select(e => e.SponsorshipId).ToArray()),
                Array(NpgsqlDbType.Text, chunk.Select(e => StoredNames.Of(e.Reason)).ToArray()),
                Instant(now));
            var ended1 = await ReadIdsAsync(command, cancellationToken);
            await AddEventsAsync(db, [.. ended1.Select(ended)], cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            done.UnionWith(ended1);
        }

        return done;
    }

    public override async Task RefreshStatisticsAsync(CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("ANALYZE rentan_sponsorships, rentan_extract_rows", cancellationToken);
    }

    protected override async Task<T> WriteAsync<T>(Func<RentanDbContext, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var db = await RentAsync(cancellationToken);
        return await write(db);
    }

    protected override async Task<AgreementWork> BeginAgreementWorkAsync(string agreementId, CancellationToken cancellationToken)
    {
        var db = await RentAsync(cancellationToken);
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            // Not composed further (a LIMIT around it would put the lock in a subquery): the row, locked until the transaction ends.
            var agreement = (await db.Agreements.FromSql($"SELECT * FROM rentan_agreements WHERE agreement_id = {agreementId} FOR UPDATE").ToListAsync(cancellationToken)).SingleOrDefault();
            return new AgreementWork(db, transaction, null, agreement);
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    protected override async Task<IReadOnlySet<string>> InsertClaimsAsync(RentanDbContext db, IReadOnlyList<SponsorshipRecord> claims, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction)(db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Claims are inserted inside the agreement's transaction."));
        // The checks before the lock already left out everyone claimed for the year, so a conflict is a concurrent list's
        // race: the plain insert runs in a savepoint and, only when it meets one, the chunk is inserted again skipping the taken.
        await transaction.SaveAsync("claims", cancellationToken);
        try
        {
            await using var batch = ClaimBatch(connection, transaction, InsertClaims, claims);
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.ReleaseAsync("claims", cancellationToken);
            return claims.Select(c => c.SponsorshipId).ToHashSet(StringComparer.Ordinal);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == PersonYearIndex)
        {
            await transaction.RollbackAsync("claims", cancellationToken);
        }

        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using var again = ClaimBatch(connection, transaction, InsertClaimsSkippingTaken, claims);
        await using var reader = await again.ExecuteReaderAsync(cancellationToken);
        do
        {
            while (await reader.ReadAsync(cancellationToken)) inserted.Add(reader.GetString(0));
        }
        while (await reader.NextResultAsync(cancellationToken));

        return inserted;
    }

    /// <summary>One batch of statements: PostgreSQL inserts a chunk while the next is still being written to it, under the agreement's lock.</summary>
    private static NpgsqlBatch ClaimBatch(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, IReadOnlyList<SponsorshipRecord> claims)
    {
        var batch = new NpgsqlBatch(connection) { Transaction = transaction };
        foreach (var chunk in claims.Chunk(RowsPerStatement))
        {
            var command = new NpgsqlBatchCommand(sql);
            foreach (var column in SponsorshipColumns) command.Parameters.Add(Array(column.Type, column.Values(chunk)));
            batch.BatchCommands.Add(command);
        }

        return batch;
    }

    protected override Task AddEventsAsync(RentanDbContext db, IReadOnlyList<IIntegrationEvent> events, CancellationToken cancellationToken) =>
        db.CopyOutboxMessagesAsync([.. events.Select(e => OutboxDbContextExtensions.NewOutboxMessage(e))], cancellationToken);

    private static NpgsqlCommand Command(RentanDbContext db, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, (NpgsqlConnection)db.Database.GetDbConnection())
        {
            Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction(),
        };
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static async Task<HashSet<string>> ReadIdsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetString(0));
        return ids;
    }

    private static NpgsqlParameter Array(NpgsqlDbType type, object values) => new() { NpgsqlDbType = NpgsqlDbType.Array | type, Value = values };

    private static NpgsqlParameter Instant(DateTimeOffset value) => new() { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = value.ToUniversalTime() };
}
