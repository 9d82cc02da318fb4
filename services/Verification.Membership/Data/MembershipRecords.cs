using Verification.Membership.Domain;
using Verification.Domain;

namespace Verification.Membership.Data;

/// <summary>A participant row; <see cref="Id"/> is the participant number's sequence (the number is <see cref="ParticipantNumber.FromSequence"/> of it).</summary>
public sealed class ParticipantRecord
{
    public long Id { get; set; }

    /// <summary>The 16 NIK digits as a number (a NIK never starts with 0). Personal data.</summary>
    public long Nik { get; set; }

    public string FullName { get; set; } = "";

    public DateOnly BirthDate { get; set; }

    public Sex Sex { get; set; }

    /// <summary>Bit flags of <see cref="NikWarningKind"/> recorded at registration (1 birth date, 2 sex).</summary>
    public int NikWarnings { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public List<CoverageRecord> Coverages { get; set; } = [];

    public ParticipantNumber Number => ParticipantNumber.FromSequence(Id);
}

/// <summary>A coverage row: the programs one source gave a participant from a start date, until an end date when known.</summary>
public sealed class CoverageRecord
{
    public long Id { get; set; }

    public long ParticipantId { get; set; }

    public ProgramSet Programs { get; set; }

    public ParticipantSegment Segment { get; set; }

    public string? EmployerNumber { get; set; }

    public CoverageChannel? Channel { get; set; }

    public string? ChannelReference { get; set; }

    /// <summary>Declared monthly income (BPU) or wage (PU) at enrolment, whole rupiah.</summary>
    public long MonthlyIncome { get; set; }

    public DateOnly StartDate { get; set; }

    /// <summary>Last day covered; null while open-ended.</summary>
    public DateOnly? EndDate { get; set; }

    /// <summary>Set by EndCoverage; an end date without a reason is a contract end known at enrolment.</summary>
    public CoverageEndReason? EndReason { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public CoverageSource Source => new(EmployerNumber, Channel, ChannelReference);

    public bool SameSource(CoverageSource source) =>
        string.Equals(EmployerNumber, source.EmployerNumber, StringComparison.Ordinal)
        && Channel == source.Channel
        && string.Equals(ChannelReference ?? "", source.ChannelReference ?? "", StringComparison.Ordinal);

    public CoverageSpan ToSpan() => new(Programs, Segment, StartDate, EndDate);
}

/// <summary>The first answer to an idempotency key of one member, with a fingerprint of the request that produced it.</summary>
public sealed class IdempotencyRecord
{
    public string MemberCode { get; set; } = "";

    public string IdempotencyKey { get; set; } = "";

    /// <summary>SHA-256 of the request (key excluded) as we re-serialise it: the same key with another request is refused.</summary>
    public byte[] RequestFingerprint { get; set; } = [];

    /// <summary>The serialised EnrollParticipantResponse returned the first time.</summary>
    public byte[] Response { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>The codes stored for enums: the API's numbers, so the database reads the same as the wire.</summary>
public static class StoredCodes
{
    public static short Segment(ParticipantSegment segment) => (short)((int)segment + 1);

    public static ParticipantSegment Segment(short code) => (ParticipantSegment)(code - 1);

    public static short Sex(Sex sex) => (short)((int)sex + 1);

    public static Sex Sex(short code) => (Sex)(code - 1);

    public static long Nik(Nik nik) => long.Parse(nik.RevealDigits(), System.Globalization.CultureInfo.InvariantCulture);

    public static string NikDigits(long nik) => nik.ToString("D16", System.Globalization.CultureInfo.InvariantCulture);

    public static int Warnings(IEnumerable<NikWarning> warnings) => warnings.Aggregate(0, (bits, w) => bits | (1 << (int)w.Kind));

    public static IReadOnlyList<NikWarningKind> Warnings(int bits) =>
        [.. Enum.GetValues<NikWarningKind>().Where(kind => (bits & (1 << (int)kind)) != 0)];
}
