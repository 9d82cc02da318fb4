using Google.Protobuf.WellKnownTypes;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Api;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features.Statement;

namespace Verification.NonAsn.Grpc;

/// <summary>Employments and statement lines in the API's terms.</summary>
internal static class NonAsnMapping
{
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
        line.Lines.Add(month.Lines);
        return line;
    }

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
