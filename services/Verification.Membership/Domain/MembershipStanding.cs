namespace Verification.Membership.Domain;

/// <summary>A person's standing in the registry on one day.</summary>
public enum StandingStatus
{
    Active,
    Inactive,
    NotRegistered,
}

/// <summary>
/// The minimal answer to "is this NIK covered": status, the programs in force and one segment. Computed from the
/// stored coverages, so a verification never needs more of the record than this.
/// </summary>
public readonly record struct MembershipStanding(StandingStatus Status, ProgramSet ActivePrograms, ParticipantSegment? Segment)
{
    public static readonly MembershipStanding NotRegistered = new(StandingStatus.NotRegistered, ProgramSet.Empty, null);

    public bool Covered => Status == StandingStatus.Active;

    // When several segments are in force the API names one: PU, then Jakon, PMI, BPU.
    private static ReadOnlySpan<ParticipantSegment> SegmentPrecedence =>
        [ParticipantSegment.Pu, ParticipantSegment.Jakon, ParticipantSegment.Pmi, ParticipantSegment.Bpu];

    /// <summary>The standing on <paramref name="day"/> of a registered participant, about one program or (null) any.</summary>
    public static MembershipStanding Of(ReadOnlySpan<CoverageSpan> coverages, CoverageProgram? program, DateOnly day)
    {
        var filter = program is { } p ? ProgramSet.Of(p) : new ProgramSet(-1);
        var active = ProgramSet.Empty;
        var segments = 0;
        foreach (var coverage in coverages)
        {
            if (!coverage.InForceOn(day)) continue;
            var programs = coverage.Programs.Intersect(filter);
            if (programs.IsEmpty) continue;
            active = active.Union(programs);
            segments |= 1 << (int)coverage.Segment;
        }

        if (active.IsEmpty) return new(StandingStatus.Inactive, ProgramSet.Empty, null);
        foreach (var segment in SegmentPrecedence)
        {
            if ((segments & (1 << (int)segment)) != 0) return new(StandingStatus.Active, active, segment);
        }

        return new(StandingStatus.Active, active, null);
    }
}

/// <summary>Housing benefit (MLT) eligibility: a participant for at least 12 months with JHT in force.</summary>
public static class HousingBenefitRule
{
    public const int MinimumMembershipMonths = 12;

    /// <summary>The criteria not met on <paramref name="day"/>; for a NIK not registered, only that.</summary>
    public static IReadOnlyList<HousingBenefitShortfall> Unmet(ReadOnlySpan<CoverageSpan> coverages, bool registered, DateOnly day)
    {
        if (!registered) return [HousingBenefitShortfall.NotRegistered];
        DateOnly? firstStart = null;
        var jhtActive = false;
        foreach (var coverage in coverages)
        {
            if (coverage.Void) continue;
            if (coverage.Start <= day && (firstStart is null || coverage.Start < firstStart)) firstStart = coverage.Start;
            if (coverage.InForceOn(day) && coverage.Programs.Contains(CoverageProgram.Jht)) jhtActive = true;
        }

        var unmet = new List<HousingBenefitShortfall>(2);
        // Membership age counts from the first coverage ever started, as the registry knows it.
        if (firstStart is null || firstStart.Value > day.AddMonths(-MinimumMembershipMonths)) unmet.Add(HousingBenefitShortfall.MemberUnder12Months);
        if (!jhtActive) unmet.Add(HousingBenefitShortfall.JhtNotActive);
        return unmet;
    }
}

/// <summary>A housing-benefit criterion not met.</summary>
public enum HousingBenefitShortfall
{
    NotRegistered,
    MemberUnder12Months,
    JhtNotActive,
}
