using Verification.Api.Common.V1;
using Verification.Domain;
using Verification.Membership.Domain;
using Verification.Api;

namespace Verification.Membership.Grpc;

/// <summary>The registry's own request rules, on the shared collector of field violations (its NIK, name, date and money rules are the kernel's).</summary>
internal static class MembershipRules
{
    public static ParticipantSegment? Segment(this FieldViolations violations, string field, Segment segment)
    {
        if (segment is Api.Common.V1.Segment.Pu or Api.Common.V1.Segment.Bpu or Api.Common.V1.Segment.Jakon or Api.Common.V1.Segment.Pmi)
            return (ParticipantSegment)((int)segment - 1);
        violations.Add(field, "SEGMENT_MISSING", "A segment is required: SEGMENT_PU, SEGMENT_BPU, SEGMENT_JAKON or SEGMENT_PMI.");
        return null;
    }

    /// <summary>Null for UNSPECIFIED (meaning "any program"); a violation for a number the API does not define.</summary>
    public static CoverageProgram? OptionalProgram(this FieldViolations violations, string field, Program program)
    {
        if (program == Program.Unspecified) return null;
        if (IsProgram(program)) return (CoverageProgram)((int)program - 1);
        violations.Add(field, "PROGRAM_UNKNOWN", "Not a program of the API.");
        return null;
    }

    /// <summary>At least one program, at most <see cref="ApiViolations.MaxPrograms"/> (checked first), each known, none twice.</summary>
    public static ProgramSet Programs(this FieldViolations violations, string field, IReadOnlyList<Program> programs)
    {
        if (!violations.WithinCount(field, programs.Count, ApiViolations.MaxPrograms)) return ProgramSet.Empty;
        if (programs.Count == 0)
        {
            violations.Add(field, "PROGRAMS_EMPTY", "Name at least one program.");
            return ProgramSet.Empty;
        }

        var set = ProgramSet.Empty;
        for (var i = 0; i < programs.Count; i++)
        {
            if (!IsProgram(programs[i]))
            {
                violations.Add($"{field}[{i}]", "PROGRAM_UNKNOWN", "Not a program: PROGRAM_JKK, PROGRAM_JKM, PROGRAM_JHT, PROGRAM_JP or PROGRAM_JKP.");
                continue;
            }

            var program = ProgramSet.Of((CoverageProgram)((int)programs[i] - 1));
            if (!set.Intersect(program).IsEmpty) violations.Add($"{field}[{i}]", "PROGRAM_DUPLICATE", "A program is named twice.");
            set = set.Union(program);
        }

        return set;
    }

    /// <summary>The reference a channel brings: a 3-digit bank code for KUR, a 2- or 4-digit region code for a local government.</summary>
    public static CoverageChannel? Channel(this FieldViolations violations, string field, string referenceField, Api.Membership.V1.EnrolmentChannel channel, string reference)
    {
        switch (channel)
        {
            case Api.Membership.V1.EnrolmentChannel.Kur:
                if (reference.Length != 3 || !reference.All(char.IsAsciiDigit)) violations.Add(referenceField, "CHANNEL_REFERENCE_INVALID", "For KUR, the channel reference is the 3-digit bank code.");
                return CoverageChannel.Kur;
            case Api.Membership.V1.EnrolmentChannel.LocalGovernment:
                if (reference.Length is not (2 or 4) || !reference.All(char.IsAsciiDigit)) violations.Add(referenceField, "CHANNEL_REFERENCE_INVALID", "For a local government, the channel reference is its 2- or 4-digit region code.");
                return CoverageChannel.LocalGovernment;
            default:
                violations.Add(field, "CHANNEL_UNKNOWN", "The channel is ENROLMENT_CHANNEL_KUR or ENROLMENT_CHANNEL_LOCAL_GOVERNMENT.");
                return null;
        }
    }

    private static bool IsProgram(Program program) => program is Program.Jkk or Program.Jkm or Program.Jht or Program.Jp or Program.Jkp;
}
