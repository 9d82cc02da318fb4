using Google.Protobuf.Collections;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Domain;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features.Change;
using Verification.NonAsn.Features.Register;
using Grpc.Core;
using Verification.Api;

namespace Verification.NonAsn.Grpc;

/// <summary>
/// Reads NonAsn requests into feature commands, collecting every problem as a <c>google.rpc.BadRequest</c> field violation
/// (field path as in the proto, a stable upper-snake reason). Descriptions never echo the input: a NIK must not come
/// back in an error.
/// </summary>
internal sealed class NonAsnRequests(DateOnly today)
{
    public const int MaxRowIdLength = 64;
    public const int MaxPositionLength = 100;
    public const int MaxWorkUnitLength = 200;

    private readonly FieldViolations _violations = new(today);

    public bool Any => _violations.Any;

    public IReadOnlyList<FieldViolation> Violations => _violations.All;

    public void Add(string field, string reason, string description) => _violations.Add(field, reason, description);

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public void ThrowIfAny() => _violations.ThrowIfAny();

    /// <summary>An employer registration number (NPP) can stand in audit entries: 1–20 ASCII letters or digits.</summary>
    public static bool IsEmployerNumber(string text) => FieldViolations.IsEmployerNumber(text);

    public void EmployerNumber(string field, string text)
    {
        if (text.Length == 0) Add(field, "EMPLOYER_NUMBER_MISSING", "The employer registration number (NPP) is required.");
        else _violations.EmployerNumber(field, text);
    }

    public void RowId(string field, string text)
    {
        if (text.Length > MaxRowIdLength) Add(field, "ROW_ID_TOO_LONG", $"A row id has at most {MaxRowIdLength} characters.");
    }

    /// <summary>The row id as answered: cut to its longest allowed length, so an answer never carries more than was allowed.</summary>
    public static string AnsweredRowId(string text) => text.Length > MaxRowIdLength ? text[..MaxRowIdLength] : text;

    /// <summary>A bulk upload's row of the caller's own (or a malformed) employer number, each of its problems recorded.</summary>
    public UploadRow UploadRow(RegisterEmployeesRequest request)
    {
        RowId("row_id", request.RowId);
        EmployerNumber("employer_number", request.EmployerNumber);
        var employee = Employee("employee", request.Employee);
        var rowId = AnsweredRowId(request.RowId);
        if (employee is not null && !Any) return new UploadRow.Valid(rowId, new RegistrationRow(request.EmployerNumber, employee));
        Nik? nik = request.Employee is not null && Nik.TryParse(request.Employee.Nik, out var parsed) ? parsed : null;
        return new UploadRow.Invalid(rowId, nik, [.. Violations]);
    }

    /// <summary>The employee of a registration, or null with every problem recorded under <paramref name="prefix"/>.</summary>
    public EmployeeDetails? Employee(string prefix, Employee? employee)
    {
        if (employee is null)
        {
            Add(prefix, "EMPLOYEE_MISSING", "The employee is required.");
            return null;
        }

        var nik = _violations.Nik($"{prefix}.nik", employee.Nik);
        var name = _violations.FullName($"{prefix}.full_name", employee.FullName);
        var birth = _violations.RequiredDate($"{prefix}.birth_date", employee.BirthDate, notInFuture: true);
        var sex = _violations.Sex($"{prefix}.sex", employee.Sex);
        var position = _violations.Text($"{prefix}.position", employee.Position, MaxPositionLength, "POSITION", "A position");
        var workUnit = _violations.Text($"{prefix}.work_unit", employee.WorkUnit, MaxWorkUnitLength, "WORK_UNIT", "A work unit");
        var kind = Kind($"{prefix}.employment_type", employee.EmploymentType);
        // Membership starts no coverage ahead of time (EnrollParticipant: start not in the future), so neither do we.
        var start = _violations.RequiredDate($"{prefix}.contract_start_date", employee.ContractStartDate, notInFuture: true);
        var end = _violations.OptionalDate($"{prefix}.contract_end_date", employee.ContractEndDate, notInFuture: false);
        if (start is { } first && end is { } last && last < first)
            Add($"{prefix}.contract_end_date", "END_BEFORE_START", "The contract end cannot be before its start.");
        if (birth is { } born && start is { } from && born.AddYears(FieldViolations.MinimumAge) > from)
            Add($"{prefix}.birth_date", "UNDER_MINIMUM_AGE", $"An employee is {FieldViolations.MinimumAge} or over on the contract start date.");
        if (employee.MonthlyWageRupiah < 0) Add($"{prefix}.monthly_wage_rupiah", "AMOUNT_NEGATIVE", "A wage in rupiah cannot be negative.");
        var programs = Programs($"{prefix}.programs", employee.Programs);
        var riskClass = RiskClass($"{prefix}.jkk_risk_class", employee.JkkRiskClass);

        if (nik is null || birth is null || sex is null || kind is null || start is null || programs is null || riskClass is null || Any) return null;
        return new EmployeeDetails(nik, name, birth.Value, sex.Value, position, workUnit, kind.Value, start.Value, end, employee.MonthlyWageRupiah, programs, riskClass.Value);
    }

    public UpdateCommand Update(UpdateEmploymentRequest request, string memberCode, string correlationId)
    {
        var nik = _violations.Nik("nik", request.Nik);
        var start = _violations.RequiredDate("contract_start_date", request.ContractStartDate, notInFuture: false);
        long? wage = request.HasMonthlyWageRupiah ? request.MonthlyWageRupiah : null;
        if (wage < 0) Add("monthly_wage_rupiah", "AMOUNT_NEGATIVE", "A wage in rupiah cannot be negative.");
        var effective = _violations.OptionalDate("wage_effective_date", request.WageEffectiveDate, notInFuture: false);
        if (wage is not null && effective is null && (request.WageEffectiveDate is null || ApiViolations.IsUnset(request.WageEffectiveDate)))
            Add("wage_effective_date", "DATE_MISSING", "A new wage needs the first day it applies.");
        var end = _violations.OptionalDate("contract_end_date", request.ContractEndDate, notInFuture: false);
        if (start is { } first && end is { } last && last < first) Add("contract_end_date", "END_BEFORE_START", "The contract end cannot be before its start.");
        ThrowIfAny();
        return new UpdateCommand(request.EmployerNumber, nik!.RevealDigits(), start!.Value, wage, wage is null ? null : effective, end, memberCode, correlationId);
    }

    public EndCommand End(EndEmploymentRequest request, string memberCode, string correlationId)
    {
        var nik = _violations.Nik("nik", request.Nik);
        var end = _violations.RequiredDate("end_date", request.EndDate, notInFuture: false);
        EmploymentEndReasonKind? reason = request.Reason switch
        {
            EmploymentEndReason.ContractEnded => EmploymentEndReasonKind.ContractEnded,
            EmploymentEndReason.Resigned => EmploymentEndReasonKind.Resigned,
            EmploymentEndReason.Dismissed => EmploymentEndReasonKind.Dismissed,
            EmploymentEndReason.AppointedAsn => EmploymentEndReasonKind.AppointedAsn,
            EmploymentEndReason.Deceased => EmploymentEndReasonKind.Deceased,
            EmploymentEndReason.Other => EmploymentEndReasonKind.Other,
            _ => null,
        };
        if (reason is null) Add("reason", "REASON_MISSING", "Say why the employment ends (EMPLOYMENT_END_REASON_...).");
        ThrowIfAny();
        return new EndCommand(request.EmployerNumber, nik!.RevealDigits(), end!.Value, reason!.Value, memberCode, correlationId);
    }

    public (int Year, int Month) Month(string field, YearMonth? month)
    {
        if (month is null || (month.Year == 0 && month.Month == 0)) Add(field, "MONTH_MISSING", "The contribution month is required.");
        else if (month.Year is < 1 or > 9999 || month.Month is < 1 or > 12) Add(field, "MONTH_INVALID", "Not a real month (year 1-9999, month 1-12).");
        ThrowIfAny();
        return (month!.Year, month.Month);
    }

    private EmploymentKind? Kind(string field, EmploymentType type)
    {
        switch (type)
        {
            case EmploymentType.Ppnpn: return EmploymentKind.Ppnpn;
            case EmploymentType.Honorer: return EmploymentKind.Honorer;
            case EmploymentType.Contract: return EmploymentKind.Contract;
            case EmploymentType.Pppk:
                Add(field, "PPPK_IS_ASN", "PPPK staff are civil servants (ASN), not non-ASN staff: they are not registered through this service.");
                return null;
            case EmploymentType.Unspecified:
                Add(field, "EMPLOYMENT_TYPE_MISSING", "The employment type is required: PPNPN, HONORER or CONTRACT.");
                return null;
            default:
                Add(field, "EMPLOYMENT_TYPE_UNKNOWN", "Not an employment type of the API.");
                return null;
        }
    }

    /// <summary>JKK and JKM always (PP 49/2023), optionally JHT and JP; none twice.</summary>
    private List<Program>? Programs(string field, RepeatedField<Program> programs)
    {
        if (!_violations.WithinCount(field, programs.Count, ApiViolations.MaxPrograms)) return null;
        var seen = new List<Program>();
        var valid = true;
        for (var i = 0; i < programs.Count; i++)
        {
            var program = programs[i];
            if (program is not (Program.Jkk or Program.Jkm or Program.Jht or Program.Jp))
            {
                Add($"{field}[{i}]", program == Program.Jkp ? "PROGRAM_NOT_OFFERED" : "PROGRAM_UNKNOWN",
                    "Non-ASN staff are registered for PROGRAM_JKK and PROGRAM_JKM, and optionally PROGRAM_JHT and PROGRAM_JP.");
                valid = false;
                continue;
            }

            if (seen.Contains(program))
            {
                Add($"{field}[{i}]", "PROGRAM_DUPLICATE", "A program is named twice.");
                valid = false;
                continue;
            }

            seen.Add(program);
        }

        if (!seen.Contains(Program.Jkk) || !seen.Contains(Program.Jkm))
        {
            Add(field, "MANDATORY_PROGRAM_MISSING", "JKK and JKM are mandatory for non-ASN staff (PP 49/2023).");
            valid = false;
        }

        return valid ? seen : null;
    }

    /// <summary>1 (very low) to 5 (very high); UNSPECIFIED is the lowest class.</summary>
    private int? RiskClass(string field, JkkRiskClass riskClass)
    {
        if (riskClass == JkkRiskClass.Unspecified) return 1;
        if (Enum.IsDefined(riskClass)) return (int)riskClass;
        Add(field, "RISK_CLASS_UNKNOWN", "The JKK risk class is JKK_RISK_CLASS_VERY_LOW to JKK_RISK_CLASS_VERY_HIGH.");
        return null;
    }

}
