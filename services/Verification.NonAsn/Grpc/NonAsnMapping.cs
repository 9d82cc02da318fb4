using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features.Register;
using Verification.NonAsn.Features.Statement;
using StatementTotals = Verification.NonAsn.Features.Statement.StatementTotals;

namespace Verification.NonAsn.Grpc;

/// <summary>Employments, upload rows and statement lines in the API's terms.</summary>
internal static class NonAsnMapping
{
    public const string NotOwnEmployerMessage = "An agency or local government acts only for its own employer numbers.";

    public const string RefusedMessage = "The participant registry refused the employee's data; see the field violations.";

    public static string ConflictMessage(RowOutcome.Conflict conflict) => conflict.DifferingFields.Count > 0
        ? $"This employment (employer number, NIK, contract start) was already registered with different data; differing fields: {string.Join(", ", conflict.DifferingFields)}."
        : "This employment (employer number, NIK, contract start) was already sent to the registry with different data.";

    /// <summary>A bulk row's outcome in the API's terms (an error row carries what the unary call's status would).</summary>
    public static EmployeeRowResult ToApi(UploadRowResult row)
    {
        var result = new EmployeeRowResult { RowId = row.RowId, Offset = row.Offset, Outcome = RegistrationOutcome.Rejected };
        switch (row.Outcome)
        {
            case RowOutcome.Registered registered:
                result.Outcome = RegistrationOutcome.Registered;
                result.EmploymentId = registered.Employment.EmploymentId;
                result.ParticipantNumber = registered.Employment.ParticipantNumber;
                result.NikWarnings.Add(NikWarnings(registered.Employment));
                break;
            case RowOutcome.Unchanged unchanged:
                result.Outcome = RegistrationOutcome.Unchanged;
                result.EmploymentId = unchanged.Employment.EmploymentId;
                result.ParticipantNumber = unchanged.Employment.ParticipantNumber;
                result.NikWarnings.Add(NikWarnings(unchanged.Employment));
                break;
            case RowOutcome.Conflict conflict:
                result.Error = new RowError { Code = Code.AlreadyExists, Message = ConflictMessage(conflict) };
                break;
            case RowOutcome.Refused refused:
                result.Error = new RowError { Code = Code.InvalidArgument, Message = RefusedMessage };
                result.Error.FieldViolations.Add(refused.Violations.ToBadRequest().FieldViolations);
                break;
            case RowOutcome.MembershipUnavailable:
                result.Error = new RowError { Code = Code.Unavailable, Message = "The participant registry is unavailable; re-send this row later (re-sending is safe)." };
                break;
            case RowOutcome.Invalid invalid:
                result.Error = new RowError { Code = Code.InvalidArgument, Message = "The row has invalid fields; see the field violations." };
                result.Error.FieldViolations.Add(invalid.Violations.ToBadRequest().FieldViolations);
                break;
            case RowOutcome.NotOwnEmployer:
                result.Error = new RowError { Code = Code.PermissionDenied, Message = NotOwnEmployerMessage };
                break;
            default:
                throw new InvalidOperationException($"Unexpected registration outcome {row.Outcome.GetType().Name}.");
        }

        return result;
    }

    /// <summary>
    /// Where the employee's NIK disagrees with the stated birth date or sex: the warnings the registry recorded with the
    /// participant (the shared kernel's rule, as Membership applies it to the same data).
    /// </summary>
    public static IEnumerable<Api.Membership.V1.NikWarning> NikWarnings(EmploymentRecord record) =>
        Verification.Domain.Nik.TryParse(record.Nik, out var nik)
            ? nik.CrossCheck(record.BirthDate, record.Sex).Select(w => w.Kind == Verification.Domain.NikWarningKind.BirthDateMismatch
                ? Api.Membership.V1.NikWarning.BirthDateMismatch
                : Api.Membership.V1.NikWarning.SexMismatch)
            : [];

    public static RegisterEmployeesSummary ToApi(UploadSummary summary) =>
        new() { Rows = summary.Rows, Registered = summary.Registered, Unchanged = summary.Unchanged, Rejected = summary.Rejected };

    public static Employment ToApi(EmploymentRecord record)
    {
        var employee = new Employee
        {
            Nik = record.Nik,
            FullName = record.FullName,
            BirthDate = ToApi(record.BirthDate),
            Sex = record.Sex == Verification.Domain.Sex.Female ? Sex.Female : Sex.Male,
            Position = record.Position,
            WorkUnit = record.WorkUnit,
            EmploymentType = record.Kind switch
            {
                EmploymentKind.Ppnpn => EmploymentType.Ppnpn,
                EmploymentKind.Honorer => EmploymentType.Honorer,
                _ => EmploymentType.Contract,
            },
            ContractStartDate = ToApi(record.ContractStartDate),
            ContractEndDate = record.ContractEndDate is { } end ? ToApi(end) : null,
            MonthlyWageRupiah = record.MonthlyWage,
            JkkRiskClass = (JkkRiskClass)record.JkkRiskClass,
        };
        employee.Programs.Add(ProgramCodes.Split(record.Programs));
        var ended = record.State == EmploymentStateKind.Ended;
        return new Employment
        {
            EmploymentId = record.EmploymentId,
            EmployerNumber = record.EmployerNumber,
            Employee = employee,
            ParticipantNumber = record.ParticipantNumber,
            State = ended ? EmploymentState.Ended : EmploymentState.Active,
            EndDate = ended && record.EndDate is { } day ? ToApi(day) : null,
            EndReason = ended ? ToApi(record.EndReason) : EmploymentEndReason.Unspecified,
            CreateMemberCode = record.CreateMemberCode,
            CreateTime = Timestamp.FromDateTimeOffset(record.CreateTime),
            UpdateTime = Timestamp.FromDateTimeOffset(record.UpdateTime),
        };
    }

    public static EmployeeContribution ToApi(EmployeeMonth month)
    {
        var line = new EmployeeContribution
        {
            EmploymentId = month.Employment.EmploymentId,
            ParticipantNumber = month.Employment.ParticipantNumber,
            Nik = month.Employment.Nik,
            FullName = month.Employment.FullName,
            MonthlyWageRupiah = month.MonthlyWage,
            TotalRupiah = month.Total,
        };
        line.Lines.Add(month.Lines.Select(ToApi));
        return line;
    }

    public static Verification.Api.NonAsn.V1.StatementTotals ToApi(StatementTotals totals)
    {
        var api = new Verification.Api.NonAsn.V1.StatementTotals
        {
            EmployeeCount = totals.EmployeeCount,
            EmployerTotalRupiah = totals.EmployerTotal,
            WorkerTotalRupiah = totals.WorkerTotal,
            TotalRupiah = totals.Total,
        };
        api.Lines.Add(totals.Lines.Select(ToApi));
        return api;
    }

    private static ContributionLine ToApi(ProgramContribution line) => new()
    {
        Program = line.Program,
        EmployerShareRupiah = line.EmployerShare,
        WorkerShareRupiah = line.WorkerShare,
        FundedElsewhereRupiah = line.FundedElsewhere,
        TotalRupiah = line.Total,
    };

    private static EmploymentEndReason ToApi(EmploymentEndReasonKind? reason) => reason switch
    {
        EmploymentEndReasonKind.ContractEnded => EmploymentEndReason.ContractEnded,
        EmploymentEndReasonKind.Resigned => EmploymentEndReason.Resigned,
        EmploymentEndReasonKind.Dismissed => EmploymentEndReason.Dismissed,
        EmploymentEndReasonKind.AppointedAsn => EmploymentEndReason.AppointedAsn,
        EmploymentEndReasonKind.Deceased => EmploymentEndReason.Deceased,
        EmploymentEndReasonKind.Other => EmploymentEndReason.Other,
        _ => EmploymentEndReason.Unspecified,
    };

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };
}
