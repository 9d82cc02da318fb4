using Google.Protobuf.WellKnownTypes;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features;
using ApiCoverage = Verification.Api.Membership.V1.Coverage;
using ApiEndReason = Verification.Api.Membership.V1.CoverageEndReason;
using ApiNikWarning = Verification.Api.Membership.V1.NikWarning;
using DomainEndReason = Verification.Membership.Domain.CoverageEndReason;

namespace Verification.Membership.Grpc;

/// <summary>Domain values to and from the API's messages and enums.</summary>
internal static class ApiMapping
{
    public static Program ToApi(this CoverageProgram program) => (Program)((int)program + 1);

    public static Segment ToApi(this ParticipantSegment segment) => (Segment)((int)segment + 1);

    public static Date ToApi(this DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    public static IEnumerable<Program> ToApi(this ProgramSet programs) => programs.ToList().Select(ToApi);

    public static MembershipStatus ToApi(this StandingStatus status) => status switch
    {
        StandingStatus.Active => MembershipStatus.Active,
        StandingStatus.Inactive => MembershipStatus.Inactive,
        _ => MembershipStatus.NotRegistered,
    };

    /// <summary>The minimal-disclosure answer: covered, status, programs in force, segment — nothing else.</summary>
    public static VerifyMembershipResponse ToResponse(this MembershipStanding standing)
    {
        var response = new VerifyMembershipResponse
        {
            Covered = standing.Covered,
            Status = standing.Status.ToApi(),
            Segment = standing.Segment?.ToApi() ?? Segment.Unspecified,
        };
        response.ActivePrograms.Add(standing.ActivePrograms.ToApi());
        return response;
    }

    public static VerifyMembershipBatchResult ToBatchResult(this MembershipStanding standing, string rowId)
    {
        var result = new VerifyMembershipBatchResult
        {
            RowId = rowId,
            Covered = standing.Covered,
            Status = standing.Status.ToApi(),
            Segment = standing.Segment?.ToApi() ?? Segment.Unspecified,
        };
        result.ActivePrograms.Add(standing.ActivePrograms.ToApi());
        return result;
    }

    /// <summary>The first broken rule in the API's order (the enum's), as <c>InvalidNikReason</c>.</summary>
    public static InvalidNikReason ToApi(this IReadOnlyList<NikProblem> problems) =>
        problems.Select(p => p.Reason switch
        {
            NikRejection.Missing => InvalidNikReason.Missing,
            NikRejection.WrongLength => InvalidNikReason.WrongLength,
            NikRejection.NotAsciiDigits => InvalidNikReason.NotDigits,
            NikRejection.UnknownProvince => InvalidNikReason.UnknownProvince,
            NikRejection.RegencyZero => InvalidNikReason.RegencyZero,
            NikRejection.DistrictZero => InvalidNikReason.DistrictZero,
            NikRejection.ImpossibleBirthDate => InvalidNikReason.BirthDateInvalid,
            _ => InvalidNikReason.SerialZero,
        }).Min();

    public static DomainEndReason? ToDomain(this ApiEndReason reason) =>
        reason is ApiEndReason.Unspecified || !System.Enum.IsDefined(reason) ? null : (DomainEndReason)(int)reason;

    public static Participant ToApi(this ParticipantRecord record, DateOnly today)
    {
        var participant = new Participant
        {
            ParticipantNumber = record.Number.Value,
            Nik = StoredCodes.NikDigits(record.Nik),
            FullName = record.FullName,
            BirthDate = record.BirthDate.ToApi(),
            Sex = record.Sex == Verification.Domain.Sex.Female ? Api.Common.V1.Sex.Female : Api.Common.V1.Sex.Male,
            CreateTime = Timestamp.FromDateTimeOffset(record.CreatedAt),
        };
        participant.NikWarnings.Add(StoredCodes.Warnings(record.NikWarnings)
            .Select(kind => kind == NikWarningKind.BirthDateMismatch ? ApiNikWarning.BirthDateMismatch : ApiNikWarning.SexMismatch));
        // One API coverage per program: a stored row holds the program set one source gave from one start date.
        foreach (var row in record.Coverages.OrderBy(c => c.StartDate).ThenBy(c => c.Id))
        {
            foreach (var program in row.Programs.ToList())
            {
                var coverage = new ApiCoverage
                {
                    Program = program.ToApi(),
                    Segment = row.Segment.ToApi(),
                    ChannelReference = row.ChannelReference ?? "",
                    StartDate = row.StartDate.ToApi(),
                    EndDate = row.EndDate?.ToApi(),
                    Status = row.StartDate > today ? CoverageStatus.Scheduled
                        : row.EndDate is { } end && end < today ? CoverageStatus.Ended
                        : CoverageStatus.Active,
                    EndReason = row.EndReason is { } reason ? (ApiEndReason)(int)reason : ApiEndReason.Unspecified,
                };
                if (row.EmployerNumber is { } employer) coverage.EmployerNumber = employer;
                else if (row.Channel is { } channel) coverage.Channel = (EnrolmentChannel)(int)channel;
                participant.Coverages.Add(coverage);
            }
        }

        return participant;
    }

    /// <summary>The enrolment's answer on the wire: the message it is also stored as.</summary>
    public static EnrollParticipantResponse ToApi(this EnrolmentAnswer answer) => StoredAnswer.ToMessage(answer);

    public static Timestamp Now(TimeProvider time) => Timestamp.FromDateTimeOffset(time.GetUtcNow());

    public static DateOnly Today(TimeProvider time) => time.JakartaToday();
}
