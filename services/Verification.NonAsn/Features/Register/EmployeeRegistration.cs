using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.NonAsn.Data;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Grpc.Core;
using ApiDate = Verification.Api.Common.V1.Date;
using ApiProgram = Verification.Api.Common.V1.Program;
using ApiSegment = Verification.Api.Common.V1.Segment;
using ApiSex = Verification.Api.Common.V1.Sex;

namespace Verification.NonAsn.Features.Register;

/// <summary>An employee as the employer registers them, validated.</summary>
public sealed record EmployeeDetails(
    Nik Nik,
    string FullName,
    DateOnly BirthDate,
    Sex Sex,
    string Position,
    string WorkUnit,
    EmploymentKind Kind,
    DateOnly ContractStartDate,
    DateOnly? ContractEndDate,
    long MonthlyWage,
    IReadOnlyList<ApiProgram> Programs,
    int JkkRiskClass);

/// <summary>One validated registration of the caller's own employer number.</summary>
public sealed record RegistrationRow(string EmployerNumber, EmployeeDetails Employee);

/// <summary>What registering one row did.</summary>
public abstract record RowOutcome
{
    /// <summary>A new employment, with coverage started in Membership.</summary>
    public sealed record Registered(EmploymentRecord Employment) : RowOutcome;

    /// <summary>The same employment with the same data was registered before: nothing changed.</summary>
    public sealed record Unchanged(EmploymentRecord Employment) : RowOutcome;

    /// <summary>The key was registered with other data; the differing field paths (never their values), empty when unknown.</summary>
    public sealed record Conflict(IReadOnlyList<string> DifferingFields) : RowOutcome;

    /// <summary>Membership refused the row's data (its rules); nothing was written.</summary>
    public sealed record Refused(IReadOnlyList<(string Field, string Reason, string Description)> Violations) : RowOutcome;

    /// <summary>Membership could not be reached; nothing of the row was recorded here, and re-sending it is safe.</summary>
    public sealed record MembershipUnavailable : RowOutcome;
}

/// <summary>
/// Registers employees set-based, a chunk at a time: one read of the chunk's existing employments, one bulk enrolment
/// in Membership for the new ones, one transaction for their records and events. Idempotent per (employer number, NIK,
/// contract start): a repeat with the same data is UNCHANGED, with other data ALREADY_EXISTS.
/// </summary>
/// <remarks>
/// Membership is asked first, with an idempotency key derived from the registration key, so a chunk that failed after
/// Membership answered (crash, lost connection) re-asks with the same keys and gets the same participants and started
/// programs; only then are the employments and their events committed, together. So no employment exists without its
/// coverage, and re-sending an upload never starts coverage twice.
/// </remarks>
public sealed partial class EmployeeRegistration(NonAsnDbContext db, IMembershipRegistry membership, TimeProvider time, ILogger<EmployeeRegistration> logger)
{
    public const string SourceModule = "nonasn";

    /// <summary>Registers the rows of one chunk (each row of the caller's own employer numbers); one outcome per row, in order.</summary>
    public async Task<IReadOnlyList<RowOutcome>> RegisterAsync(IReadOnlyList<RegistrationRow> rows, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        var outcomes = new RowOutcome?[rows.Count];
        var existing = await FindAsync(rows, cancellationToken);
        var fresh = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (existing.TryGetValue(Key(rows[i]), out var record)) outcomes[i] = Compare(record, rows[i]);
            else fresh.Add(i);
        }

        if (fresh.Count > 0) await EnrolAndRecordAsync(rows, fresh, outcomes, memberCode, correlationId, cancellationToken);
        return [.. outcomes.Select(o => o ?? throw new InvalidOperationException("A row was left without an outcome."))];
    }

    /// <summary>The key under which Membership deduplicates this registration; the NIK enters it only hashed.</summary>
    public static string MembershipIdempotencyKey(string employerNumber, Nik nik, DateOnly contractStart)
    {
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes("nonasn-registration|" + nik.RevealDigits()));
        return $"nonasn:{employerNumber}:{contractStart:yyyyMMdd}:{Convert.ToHexStringLower(digest.AsSpan(0, 16))}";
    }

    /// <summary>The fields of a row that differ from the stored registration, as proto field paths.</summary>
    public static IReadOnlyList<string> DifferingFields(EmploymentRecord stored, EmployeeDetails given)
    {
        var fields = new List<string>();
        if (stored.FullName != given.FullName) fields.Add("employee.full_name");
        if (stored.BirthDate != given.BirthDate) fields.Add("employee.birth_date");
        if (stored.Sex != given.Sex) fields.Add("employee.sex");
        if (stored.Position != given.Position) fields.Add("employee.position");
        if (stored.WorkUnit != given.WorkUnit) fields.Add("employee.work_unit");
        if (stored.Kind != given.Kind) fields.Add("employee.employment_type");
        if (stored.RegisteredContractEndDate != given.ContractEndDate) fields.Add("employee.contract_end_date");
        if (stored.RegisteredMonthlyWage != given.MonthlyWage) fields.Add("employee.monthly_wage_rupiah");
        if (stored.Programs != ProgramCodes.Join(given.Programs)) fields.Add("employee.programs");
        if (stored.JkkRiskClass != given.JkkRiskClass) fields.Add("employee.jkk_risk_class");
        return fields;
    }

    private static RowOutcome Compare(EmploymentRecord stored, RegistrationRow row)
    {
        var differing = DifferingFields(stored, row.Employee);
        return differing.Count == 0 ? new RowOutcome.Unchanged(stored) : new RowOutcome.Conflict(differing);
    }

    private async Task EnrolAndRecordAsync(
        IReadOnlyList<RegistrationRow> rows, List<int> fresh, RowOutcome?[] outcomes, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        var request = new EnrollParticipantsRequest();
        request.Items.Add(fresh.Select(i => EnrolRequest(rows[i])));
        EnrollParticipantsResponse answer;
        try
        {
            answer = await membership.EnrolManyAsync(request, cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, ex.StatusCode, fresh.Count);
            foreach (var i in fresh) outcomes[i] = new RowOutcome.MembershipUnavailable();
            return;
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("EnrollParticipants", ex);
        }

        if (answer.Results.Count != fresh.Count) throw new InvalidOperationException("Membership answered EnrollParticipants with another number of results than items.");

        // Membership has answered: the records must catch up even if the agency has gone away.
        var now = time.RecordNow();
        var pending = new List<(int Index, EmploymentRecord Record)>();
        for (var j = 0; j < fresh.Count; j++)
        {
            var i = fresh[j];
            var result = answer.Results[j];
            if (result.ResultCase == EnrollParticipantsResult.ResultOneofCase.Enrolled)
            {
                pending.Add((i, NewRecord(rows[i], result.Enrolled, memberCode, now)));
                continue;
            }

            outcomes[i] = result.Error?.Code switch
            {
                Google.Rpc.Code.InvalidArgument => new RowOutcome.Refused(MembershipViolations(result.Error)),
                // The key reached Membership earlier with other data, and that attempt left no employment here.
                Google.Rpc.Code.AlreadyExists => new RowOutcome.Conflict([]),
                var code => throw new InvalidOperationException($"Membership answered an enrolment item with {code}."),
            };
        }

        await RecordAsync(rows, pending, outcomes, correlationId, now);
    }

    /// <summary>
    /// Inserts the new employments and their events in one transaction. A concurrent upload of the same keys may commit
    /// first: then its rows decide (UNCHANGED or ALREADY_EXISTS) and the rest is inserted again.
    /// </summary>
    private async Task RecordAsync(IReadOnlyList<RegistrationRow> rows, List<(int Index, EmploymentRecord Record)> pending, RowOutcome?[] outcomes, string correlationId, DateTimeOffset now)
    {
        for (var attempt = 0; pending.Count > 0; attempt++)
        {
            var gate = await db.EnterWriteGateAsync(CancellationToken.None);
            try
            {
                await InsertAsync(pending, correlationId, now);
                foreach (var (index, record) in pending) outcomes[index] = new RowOutcome.Registered(record);
                return;
            }
            catch (Exception ex) when (ex.IsUniqueViolation() && attempt < 3)
            {
                // Nothing of this attempt was written.
            }
            finally
            {
                db.ChangeTracker.Clear();
                gate?.Release();
            }

            var committed = await FindAsync([.. pending.Select(p => rows[p.Index])], CancellationToken.None);
            var still = new List<(int, EmploymentRecord)>();
            foreach (var (index, record) in pending)
            {
                if (committed.TryGetValue(Key(rows[index]), out var winner)) outcomes[index] = Compare(winner, rows[index]);
                else still.Add((index, record));
            }

            pending = still;
        }
    }

    /// <summary>
    /// The employments and their events, committed together: on PostgreSQL with binary <c>COPY</c> in one transaction
    /// (a chunk's worth of INSERTs and tracked entities cost more than the rows), on SQLite through the context.
    /// </summary>
    private async Task InsertAsync(List<(int Index, EmploymentRecord Record)> pending, string correlationId, DateTimeOffset now)
    {
        if (!db.Database.IsNpgsql())
        {
            foreach (var (_, record) in pending)
            {
                db.Employments.Add(record);
                db.AddOutboxEvent(RegisteredEvent(record, correlationId, now));
            }

            await db.SaveChangesAsync(CancellationToken.None);
            return;
        }

        var events = pending.Select(p => OutboxDbContextExtensions.NewOutboxMessage(RegisteredEvent(p.Record, correlationId, now))).ToList();
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY nonasn_employments (employment_id, employer_number, nik, full_name, birth_date, sex, position, work_unit, employment_type, "
            + "contract_start_date, registered_contract_end_date, contract_end_date, registered_monthly_wage, monthly_wage, programs, jkk_risk_class, "
            + "started_programs, participant_number, state, end_date, end_reason, ended_programs, create_member_code, create_time, update_time) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var (_, e) in pending)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(e.EmploymentId, NpgsqlDbType.Text);
                await copy.WriteAsync(e.EmployerNumber, NpgsqlDbType.Text);
                await copy.WriteAsync(e.Nik, NpgsqlDbType.Text);
                await copy.WriteAsync(e.FullName, NpgsqlDbType.Text);
                await copy.WriteAsync(e.BirthDate, NpgsqlDbType.Date);
                await copy.WriteAsync(StoredNames.Of(e.Sex), NpgsqlDbType.Text);
                await copy.WriteAsync(e.Position, NpgsqlDbType.Text);
                await copy.WriteAsync(e.WorkUnit, NpgsqlDbType.Text);
                await copy.WriteAsync(StoredNames.Of(e.Kind), NpgsqlDbType.Text);
                await copy.WriteAsync(e.ContractStartDate, NpgsqlDbType.Date);
                await WriteNullableAsync(copy, e.RegisteredContractEndDate, NpgsqlDbType.Date);
                await WriteNullableAsync(copy, e.ContractEndDate, NpgsqlDbType.Date);
                await copy.WriteAsync(e.RegisteredMonthlyWage, NpgsqlDbType.Bigint);
                await copy.WriteAsync(e.MonthlyWage, NpgsqlDbType.Bigint);
                await copy.WriteAsync(e.Programs, NpgsqlDbType.Text);
                await copy.WriteAsync(e.JkkRiskClass, NpgsqlDbType.Integer);
                await copy.WriteAsync(e.StartedPrograms, NpgsqlDbType.Text);
                await copy.WriteAsync(e.ParticipantNumber, NpgsqlDbType.Text);
                await copy.WriteAsync(StoredNames.Of(e.State), NpgsqlDbType.Text);
                await WriteNullableAsync(copy, e.EndDate, NpgsqlDbType.Date);
                await WriteNullableAsync(copy, e.EndReason is { } reason ? StoredNames.Of(reason) : null, NpgsqlDbType.Text);
                await WriteNullableAsync(copy, e.EndedPrograms, NpgsqlDbType.Text);
                await copy.WriteAsync(e.CreateMemberCode, NpgsqlDbType.Text);
                await copy.WriteAsync(e.CreateTime, NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(e.UpdateTime, NpgsqlDbType.TimestampTz);
            }

            await copy.CompleteAsync();
        }

        await db.CopyOutboxMessagesAsync(events, CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type) =>
        value is null ? importer.WriteNullAsync() : importer.WriteAsync(value, type);

    private async Task<Dictionary<(string, string, DateOnly), EmploymentRecord>> FindAsync(IReadOnlyList<RegistrationRow> rows, CancellationToken cancellationToken)
    {
        var employers = rows.Select(r => r.EmployerNumber).Distinct(StringComparer.Ordinal).ToList();
        var niks = rows.Select(r => r.Employee.Nik.RevealDigits()).Distinct(StringComparer.Ordinal).ToList();
        var found = await db.Employments.AsNoTracking()
            .Where(e => employers.Contains(e.EmployerNumber) && niks.Contains(e.Nik))
            .ToListAsync(cancellationToken);
        var byKey = new Dictionary<(string, string, DateOnly), EmploymentRecord>();
        foreach (var record in found) byKey[(record.EmployerNumber, record.Nik, record.ContractStartDate)] = record;
        return byKey;
    }

    private static (string, string, DateOnly) Key(RegistrationRow row) => (row.EmployerNumber, row.Employee.Nik.RevealDigits(), row.Employee.ContractStartDate);

    private static EnrollParticipantRequest EnrolRequest(RegistrationRow row)
    {
        var employee = row.Employee;
        var request = new EnrollParticipantRequest
        {
            IdempotencyKey = MembershipIdempotencyKey(row.EmployerNumber, employee.Nik, employee.ContractStartDate),
            Nik = employee.Nik.RevealDigits(),
            FullName = employee.FullName,
            BirthDate = ToApi(employee.BirthDate),
            Sex = employee.Sex == Sex.Female ? ApiSex.Female : ApiSex.Male,
            Segment = ApiSegment.Pu,
            EmployerNumber = row.EmployerNumber,
            MonthlyIncomeRupiah = employee.MonthlyWage,
            StartDate = ToApi(employee.ContractStartDate),
            EndDate = employee.ContractEndDate is { } end ? ToApi(end) : null,
        };
        request.Programs.Add(employee.Programs.Order());
        return request;
    }

    private static EmploymentRecord NewRecord(RegistrationRow row, EnrollParticipantResponse enrolled, string memberCode, DateTimeOffset now)
    {
        var employee = row.Employee;
        return new EmploymentRecord
        {
            EmploymentId = Guid.CreateVersion7(now).ToString(),
            EmployerNumber = row.EmployerNumber,
            Nik = employee.Nik.RevealDigits(),
            FullName = employee.FullName,
            BirthDate = employee.BirthDate,
            Sex = employee.Sex,
            Position = employee.Position,
            WorkUnit = employee.WorkUnit,
            Kind = employee.Kind,
            ContractStartDate = employee.ContractStartDate,
            RegisteredContractEndDate = employee.ContractEndDate,
            ContractEndDate = employee.ContractEndDate,
            RegisteredMonthlyWage = employee.MonthlyWage,
            MonthlyWage = employee.MonthlyWage,
            Programs = ProgramCodes.Join(employee.Programs),
            JkkRiskClass = employee.JkkRiskClass,
            StartedPrograms = ProgramCodes.Join(enrolled.StartedPrograms),
            ParticipantNumber = enrolled.ParticipantNumber,
            State = EmploymentStateKind.Active,
            CreateMemberCode = memberCode,
            CreateTime = now,
            UpdateTime = now,
        };
    }

    private static NonAsnEmployeeRegistered RegisteredEvent(EmploymentRecord record, string correlationId, DateTimeOffset now) => new(
        Guid.CreateVersion7(now), now, correlationId, record.CreateMemberCode, SourceModule, record.EmploymentId, record.EmployerNumber,
        record.ParticipantNumber, record.Nik, StoredNames.Of(record.Kind), record.MonthlyWage, WibCalendar.StartOf(record.ContractStartDate));

    /// <summary>Membership's field paths in terms of this API's row, so the agency sees its own fields.</summary>
    private static List<(string Field, string Reason, string Description)> MembershipViolations(Api.Common.V1.RowError error)
    {
        var violations = new List<(string, string, string)>();
        foreach (var violation in error.FieldViolations)
        {
            var field = violation.Field switch
            {
                "nik" => "employee.nik",
                "full_name" => "employee.full_name",
                "birth_date" => "employee.birth_date",
                "sex" => "employee.sex",
                "monthly_income_rupiah" => "employee.monthly_wage_rupiah",
                "start_date" => "employee.contract_start_date",
                "end_date" => "employee.contract_end_date",
                "employer_number" => "employer_number",
                var other when other.StartsWith("programs", StringComparison.Ordinal) => "employee.programs",
                _ => "employee",
            };
            violations.Add((field, violation.Reason, violation.Description));
        }

        if (violations.Count == 0) violations.Add(("employee", "EMPLOYEE_REFUSED", "The registry refused the employee's data."));
        return violations;
    }

    private static ApiDate ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static partial class Log
    {
        [LoggerMessage(EventId = 7301, Level = LogLevel.Warning, Message = "Membership unavailable ({Status}) during a bulk enrolment of {Rows} rows; the rows were answered UNAVAILABLE")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, int rows);
    }
}
