using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.NonAsn.Data;
using Verification.Platform.Privacy;
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
    public sealed record Refused(IReadOnlyList<FieldViolation> Violations) : RowOutcome;

    /// <summary>Membership could not be reached; nothing of the row was recorded here, and re-sending it is safe.</summary>
    public sealed record MembershipUnavailable : RowOutcome;

    /// <summary>A bulk row whose own fields are invalid: refused on reading, Membership not asked.</summary>
    public sealed record Invalid(IReadOnlyList<FieldViolation> Violations) : RowOutcome;

    /// <summary>A bulk row of another member's employer number: refused on reading (and audited), whatever it holds.</summary>
    public sealed record NotOwnEmployer : RowOutcome;
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
public sealed partial class EmployeeRegistration(EmploymentStore employments, IMembershipRegistry membership, NikSealer nikSealer, TimeProvider time, ILogger<EmployeeRegistration> logger)
{
    public const string SourceModule = "nonasn";

    /// <summary>Registers the rows of one chunk (each row of the caller's own employer numbers); one outcome per row, in order.</summary>
    public async Task<IReadOnlyList<RowOutcome>> RegisterAsync(IReadOnlyList<RegistrationRow> rows, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        var outcomes = new RowOutcome?[rows.Count];
        var existing = await employments.FindAsync([.. rows.Select(Key)], cancellationToken);
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
    /// Inserts the new employments and their events together. A concurrent upload of the same keys may commit first: then
    /// its rows decide (UNCHANGED or ALREADY_EXISTS) and the rest is inserted again.
    /// </summary>
    private async Task RecordAsync(IReadOnlyList<RegistrationRow> rows, List<(int Index, EmploymentRecord Record)> pending, RowOutcome?[] outcomes, string correlationId, DateTimeOffset now)
    {
        const int attempts = 4;
        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            // Not cancellable: Membership has answered, and the records must catch up even if the agency has gone away.
            var records = pending.Select(p => p.Record).ToList();
            if (await employments.TryAddAsync(records, [.. records.Select(r => RegisteredEvent(r, correlationId, now))], CancellationToken.None))
            {
                foreach (var (index, record) in pending) outcomes[index] = new RowOutcome.Registered(record);
                return;
            }

            if (attempt == attempts) throw new InvalidOperationException($"Registering a chunk collided with concurrent registrations {attempts} times.");
            var committed = await employments.FindAsync([.. pending.Select(p => Key(rows[p.Index]))], CancellationToken.None);
            var still = new List<(int, EmploymentRecord)>();
            foreach (var (index, record) in pending)
            {
                if (committed.TryGetValue(Key(rows[index]), out var winner)) outcomes[index] = Compare(winner, rows[index]);
                else still.Add((index, record));
            }

            pending = still;
        }
    }

    private static EmploymentKey Key(RegistrationRow row) => new(row.EmployerNumber, row.Employee.Nik.RevealDigits(), row.Employee.ContractStartDate);

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

    private NonAsnEmployeeRegistered RegisteredEvent(EmploymentRecord record, string correlationId, DateTimeOffset now)
    {
        var eventId = Guid.CreateVersion7(now);
        return new(
            eventId, now, correlationId, record.CreateMemberCode, SourceModule, record.EmploymentId, record.EmployerNumber,
            record.ParticipantNumber, nikSealer.Seal(record.Nik, eventId), Nik.MaskInput(record.Nik), StoredNames.Of(record.Kind), record.MonthlyWage,
            WibCalendar.StartOf(record.ContractStartDate));
    }

    /// <summary>Membership's field paths in terms of this API's row, so the agency sees its own fields.</summary>
    private static List<FieldViolation> MembershipViolations(Api.Common.V1.RowError error)
    {
        var violations = new List<FieldViolation>();
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
            violations.Add(new FieldViolation(field, violation.Reason, violation.Description));
        }

        if (violations.Count == 0) violations.Add(new FieldViolation("employee", "EMPLOYEE_REFUSED", "The registry refused the employee's data."));
        return violations;
    }

    private static ApiDate ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static partial class Log
    {
        [LoggerMessage(EventId = 7301, Level = LogLevel.Warning, Message = "Membership unavailable ({Status}) during a bulk enrolment of {Rows} rows; the rows were answered UNAVAILABLE")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, int rows);
    }
}
