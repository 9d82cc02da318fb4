namespace Verification.Membership.Domain;

/// <summary>How a participant without an employer was enrolled; values are the stored codes (and the API's).</summary>
public enum CoverageChannel
{
    /// <summary>A bank enrolling a KUR borrower at loan time; the reference is the bank code.</summary>
    Kur = 1,

    /// <summary>A local government paying for a vulnerable worker; the reference is the region code.</summary>
    LocalGovernment = 2,
}

/// <summary>Why a coverage ended; values are the stored codes (and the API's).</summary>
public enum CoverageEndReason
{
    EmploymentEnded = 1,
    LoanCancelled = 2,
    Deceased = 3,
    DataCorrection = 4,
    Other = 5,
}

/// <summary>What brought a coverage: an employer (NPP) or a channel with its own reference (bank code, region code).</summary>
public sealed record CoverageSource(string? EmployerNumber, CoverageChannel? Channel, string? ChannelReference)
{
    public static CoverageSource Employer(string employerNumber) => new(employerNumber, null, null);

    public static CoverageSource ByChannel(CoverageChannel channel, string reference) => new(null, channel, reference);

    /// <summary>How events name the source: EMPLOYER, KUR or LOCAL_GOVERNMENT.</summary>
    public string ChannelName => Channel switch
    {
        CoverageChannel.Kur => "KUR",
        CoverageChannel.LocalGovernment => "LOCAL_GOVERNMENT",
        _ => "EMPLOYER",
    };
}

/// <summary>One stored coverage as verification reads it: a program set, its segment and the days it covers.</summary>
public readonly record struct CoverageSpan(ProgramSet Programs, ParticipantSegment Segment, DateOnly Start, DateOnly? End)
{
    /// <summary>Covers <paramref name="day"/>: started on or before it and not ended before it (the end date is the last day covered).</summary>
    public bool InForceOn(DateOnly day) => Start <= day && (End is null || End.Value >= day);

    /// <summary>Ended before it began (a loan cancelled before its coverage started): it covered no day.</summary>
    public bool Void => End is { } end && end < Start;
}

/// <summary>Which programs each segment may join: BPU, Jakon and PMI have no pension or job-loss program.</summary>
public static class SegmentPrograms
{
    public static ProgramSet OfferedTo(ParticipantSegment segment) => segment switch
    {
        ParticipantSegment.Pu => ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm, CoverageProgram.Jht, CoverageProgram.Jp, CoverageProgram.Jkp]),
        ParticipantSegment.Bpu => ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm, CoverageProgram.Jht]),
        ParticipantSegment.Jakon => ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm]),
        ParticipantSegment.Pmi => ProgramSet.Of([CoverageProgram.Jkk, CoverageProgram.Jkm, CoverageProgram.Jht]),
        _ => ProgramSet.Empty,
    };
}
