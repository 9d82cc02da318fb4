using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.NonAsn.Data;

/// <summary>
/// PostgreSQL (microservices mode): a chunk of new employments and their events go in with binary <c>COPY</c> in one
/// transaction (a chunk's worth of INSERTs and tracked entities cost more than the rows: docs/benchmarks.md, "## Non-ASN");
/// row locks queue the writers.
/// </summary>
public sealed class PostgresEmploymentStore(NonAsnDbContext db, StaffNikCipher cipher) : EmploymentStore(db, cipher)
{
    /// <summary>One column of the employments table as COPY writes it: its name beside its value, so a new field is one line here.</summary>
    private sealed record Column(string Name, Func<NpgsqlBinaryImporter, EmploymentRecord, CancellationToken, Task> Write);

    private static readonly Column[] Columns =
    [
        new("employment_id", (c, e, t) => c.WriteAsync(e.EmploymentId, NpgsqlDbType.Text, t)),
        new("employer_number", (c, e, t) => c.WriteAsync(e.EmployerNumber, NpgsqlDbType.Text, t)),
        new("nik_hash", (c, e, t) => c.WriteAsync(e.NikHash, NpgsqlDbType.Text, t)),
        new("nik_sealed", (c, e, t) => c.WriteAsync(e.NikSealed, NpgsqlDbType.Text, t)),
        new("full_name", (c, e, t) => c.WriteAsync(e.FullName, NpgsqlDbType.Text, t)),
        new("birth_date", (c, e, t) => c.WriteAsync(e.BirthDate, NpgsqlDbType.Date, t)),
        new("sex", (c, e, t) => c.WriteAsync(StoredNames.Of(e.Sex), NpgsqlDbType.Text, t)),
        new("position", (c, e, t) => c.WriteAsync(e.Position, NpgsqlDbType.Text, t)),
        new("work_unit", (c, e, t) => c.WriteAsync(e.WorkUnit, NpgsqlDbType.Text, t)),
        new("employment_type", (c, e, t) => c.WriteAsync(StoredNames.Of(e.Kind), NpgsqlDbType.Text, t)),
        new("contract_start_date", (c, e, t) => c.WriteAsync(e.ContractStartDate, NpgsqlDbType.Date, t)),
        new("registered_contract_end_date", (c, e, t) => WriteNullableAsync(c, e.RegisteredContractEndDate, NpgsqlDbType.Date, t)),
        new("contract_end_date", (c, e, t) => WriteNullableAsync(c, e.ContractEndDate, NpgsqlDbType.Date, t)),
        new("registered_monthly_wage", (c, e, t) => c.WriteAsync(e.RegisteredMonthlyWage, NpgsqlDbType.Bigint, t)),
        new("monthly_wage", (c, e, t) => c.WriteAsync(e.MonthlyWage, NpgsqlDbType.Bigint, t)),
        new("programs", (c, e, t) => c.WriteAsync(e.Programs, NpgsqlDbType.Text, t)),
        new("jkk_risk_class", (c, e, t) => c.WriteAsync(e.JkkRiskClass, NpgsqlDbType.Integer, t)),
        new("started_programs", (c, e, t) => c.WriteAsync(e.StartedPrograms, NpgsqlDbType.Text, t)),
        new("participant_number", (c, e, t) => c.WriteAsync(e.ParticipantNumber, NpgsqlDbType.Text, t)),
        new("state", (c, e, t) => c.WriteAsync(StoredNames.Of(e.State), NpgsqlDbType.Text, t)),
        new("end_date", (c, e, t) => WriteNullableAsync(c, e.EndDate, NpgsqlDbType.Date, t)),
        new("end_reason", (c, e, t) => WriteNullableAsync(c, e.EndReason is { } reason ? StoredNames.Of(reason) : null, NpgsqlDbType.Text, t)),
        new("ended_programs", (c, e, t) => WriteNullableAsync(c, e.EndedPrograms, NpgsqlDbType.Text, t)),
        new("create_member_code", (c, e, t) => c.WriteAsync(e.CreateMemberCode, NpgsqlDbType.Text, t)),
        new("create_time", (c, e, t) => c.WriteAsync(e.CreateTime, NpgsqlDbType.TimestampTz, t)),
        new("update_time", (c, e, t) => c.WriteAsync(e.UpdateTime, NpgsqlDbType.TimestampTz, t)),
    ];

    private static readonly string CopyEmployments =
        $"COPY nonasn_employments ({string.Join(", ", Columns.Select(c => c.Name))}) FROM STDIN (FORMAT BINARY)";

    public override async Task<bool> TryAddAsync(IReadOnlyList<EmploymentRecord> employments, IReadOnlyList<NonAsnEmployeeRegistered> events, CancellationToken cancellationToken)
    {
        foreach (var employment in employments) Cipher.Protect(employment);
        var messages = events.Select(e => OutboxDbContextExtensions.NewOutboxMessage(e)).ToList();
        try
        {
            await using var transaction = await Db.Database.BeginTransactionAsync(cancellationToken);
            var connection = (NpgsqlConnection)Db.Database.GetDbConnection();
            await using (var copy = await connection.BeginBinaryImportAsync(CopyEmployments, cancellationToken))
            {
                foreach (var employment in employments)
                {
                    await copy.StartRowAsync(cancellationToken);
                    foreach (var column in Columns) await column.Write(copy, employment, cancellationToken);
                }

                await copy.CompleteAsync(cancellationToken);
            }

            await Db.CopyOutboxMessagesAsync(messages, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        }
        catch (PostgresException ex) when (ex.IsUniqueViolation())
        {
            // The transaction rolled back: nothing of this call was written.
            return false;
        }
    }

    protected override Task<bool> WriteAsync(Func<Task<bool>> write, CancellationToken cancellationToken) => write();

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);
}
