using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Membership.Domain;
using Grpc.Core;
using Verification.Api;
using ApiSex = Verification.Api.Common.V1.Sex;
using DomainSex = Verification.Membership.Domain.Sex;

namespace Verification.Membership.Grpc;

/// <summary>
/// Collects every problem of a request as a <c>google.rpc.BadRequest</c> field violation (field path as in the proto,
/// a stable upper-snake reason) and reads the valid values into domain types on the way.
/// Descriptions never echo the input: a NIK must not come back in an error.
/// </summary>
internal sealed class RequestViolations
{
    public const int MaxNameLength = 100;
    public const int MinimumAge = 15;

    private readonly BadRequest _badRequest = new();
    private readonly DateOnly _today;

    public RequestViolations(DateOnly today) => _today = today;

    public bool Any => _badRequest.FieldViolations.Count > 0;

    public IReadOnlyList<BadRequest.Types.FieldViolation> All => _badRequest.FieldViolations;

    public void Add(string field, string reason, string description) =>
        _badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Reason = reason, Description = description });

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public void ThrowIfAny()
    {
        if (Any) throw RpcErrors.WithDetails(StatusCode.InvalidArgument, "The request has invalid fields; see the field violations.", _badRequest);
    }

    /// <summary>A structurally valid NIK, or one violation per broken rule.</summary>
    public Nik? Nik(string field, string text)
    {
        var validation = Domain.Nik.Validate(text);
        foreach (var problem in validation.Problems) Add(field, problem.Code, problem.Description);
        return validation.Nik;
    }

    /// <summary>Trimmed, 1–100 characters, no control characters.</summary>
    public string FullName(string field, string text)
    {
        var name = text.Trim();
        if (name.Length == 0) Add(field, "NAME_MISSING", "A full name is required.");
        else if (name.Length > MaxNameLength) Add(field, "NAME_TOO_LONG", $"A full name has at most {MaxNameLength} characters.");
        if (name.Any(char.IsControl)) Add(field, "NAME_CONTROL_CHARACTERS", "A full name cannot contain control characters (tabs, line breaks, ...).");
        return name;
    }

    /// <summary>A date that must be given; with <paramref name="notInFuture"/>, not after today (Jakarta).</summary>
    public DateOnly? RequiredDate(string field, Date? date, bool notInFuture)
    {
        if (date is null || IsUnset(date))
        {
            Add(field, "DATE_MISSING", "This date is required.");
            return null;
        }

        return CheckedDate(field, date, notInFuture);
    }

    /// <summary>Null when unset (all zero); otherwise a real day, with <paramref name="notInFuture"/> not after today.</summary>
    public DateOnly? OptionalDate(string field, Date? date, bool notInFuture) =>
        date is null || IsUnset(date) ? null : CheckedDate(field, date, notInFuture);

    public DomainSex? Sex(string field, ApiSex sex)
    {
        switch (sex)
        {
            case ApiSex.Male: return DomainSex.Male;
            case ApiSex.Female: return DomainSex.Female;
            default:
                Add(field, "SEX_MISSING", "Sex is required: SEX_MALE or SEX_FEMALE.");
                return null;
        }
    }

    public ParticipantSegment? Segment(string field, Segment segment)
    {
        if (segment is Api.Common.V1.Segment.Pu or Api.Common.V1.Segment.Bpu or Api.Common.V1.Segment.Jakon or Api.Common.V1.Segment.Pmi)
            return (ParticipantSegment)((int)segment - 1);
        Add(field, "SEGMENT_MISSING", "A segment is required: SEGMENT_PU, SEGMENT_BPU, SEGMENT_JAKON or SEGMENT_PMI.");
        return null;
    }

    /// <summary>Null for UNSPECIFIED (meaning "any program"); a violation for a number the API does not define.</summary>
    public CoverageProgram? OptionalProgram(string field, Program program)
    {
        if (program == Program.Unspecified) return null;
        if (IsProgram(program)) return (CoverageProgram)((int)program - 1);
        Add(field, "PROGRAM_UNKNOWN", "Not a program of the API.");
        return null;
    }

    /// <summary>At least one program, each known, none twice.</summary>
    public ProgramSet Programs(string field, IReadOnlyList<Program> programs)
    {
        if (programs.Count == 0)
        {
            Add(field, "PROGRAMS_EMPTY", "Name at least one program.");
            return ProgramSet.Empty;
        }

        var set = ProgramSet.Empty;
        for (var i = 0; i < programs.Count; i++)
        {
            if (!IsProgram(programs[i]))
            {
                Add($"{field}[{i}]", "PROGRAM_UNKNOWN", "Not a program: PROGRAM_JKK, PROGRAM_JKM, PROGRAM_JHT, PROGRAM_JP or PROGRAM_JKP.");
                continue;
            }

            var program = ProgramSet.Of((CoverageProgram)((int)programs[i] - 1));
            if (!set.Intersect(program).IsEmpty) Add($"{field}[{i}]", "PROGRAM_DUPLICATE", "A program is named twice.");
            set = set.Union(program);
        }

        return set;
    }

    /// <summary>Whole rupiah, not negative (int64 on the wire, so always whole).</summary>
    public void Money(string field, long rupiah)
    {
        if (rupiah < 0) Add(field, "AMOUNT_NEGATIVE", "An amount of rupiah cannot be negative.");
    }

    /// <summary>An employer registration number (NPP): 1–20 ASCII letters or digits.</summary>
    public void EmployerNumber(string field, string employerNumber)
    {
        if (employerNumber.Length is 0 or > 20 || !employerNumber.All(char.IsAsciiLetterOrDigit))
            Add(field, "EMPLOYER_NUMBER_INVALID", "An employer registration number (NPP) is 1 to 20 ASCII letters or digits.");
    }

    /// <summary>The reference a channel brings: a 3-digit bank code for KUR, a 2- or 4-digit region code for a local government.</summary>
    public CoverageChannel? Channel(string field, string referenceField, Api.Membership.V1.EnrolmentChannel channel, string reference)
    {
        switch (channel)
        {
            case Api.Membership.V1.EnrolmentChannel.Kur:
                if (reference.Length != 3 || !reference.All(char.IsAsciiDigit)) Add(referenceField, "CHANNEL_REFERENCE_INVALID", "For KUR, the channel reference is the 3-digit bank code.");
                return CoverageChannel.Kur;
            case Api.Membership.V1.EnrolmentChannel.LocalGovernment:
                if (reference.Length is not (2 or 4) || !reference.All(char.IsAsciiDigit)) Add(referenceField, "CHANNEL_REFERENCE_INVALID", "For a local government, the channel reference is its 2- or 4-digit region code.");
                return CoverageChannel.LocalGovernment;
            default:
                Add(field, "CHANNEL_UNKNOWN", "The channel is ENROLMENT_CHANNEL_KUR or ENROLMENT_CHANNEL_LOCAL_GOVERNMENT.");
                return null;
        }
    }

    private static bool IsProgram(Program program) => program is Program.Jkk or Program.Jkm or Program.Jht or Program.Jp or Program.Jkp;

    private static bool IsUnset(Date date) => date.Year == 0 && date.Month == 0 && date.Day == 0;

    private DateOnly? CheckedDate(string field, Date date, bool notInFuture)
    {
        if (date.Year is < 1 or > 9999 || date.Month is < 1 or > 12 || date.Day < 1 || date.Day > DateTime.DaysInMonth(date.Year, date.Month))
        {
            Add(field, "DATE_INVALID", "Not a real calendar day (year 1-9999, month 1-12, a day the month has).");
            return null;
        }

        var day = new DateOnly(date.Year, date.Month, date.Day);
        if (notInFuture && day > _today)
        {
            Add(field, "DATE_IN_FUTURE", "This date cannot be in the future.");
            return null;
        }

        return day;
    }
}
