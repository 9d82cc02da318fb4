using System.Globalization;
using Verification.Domain;

namespace Verification.Rentan.Data;

/// <summary>Where a sponsored worker stands under one agreement, as stored.</summary>
public enum SponsorshipStateKind
{
    /// <summary>Its budget is claimed and Membership has not confirmed it yet: invisible in lists and invoices, resumed when sent again.</summary>
    Pending,

    /// <summary>Covered to the agreement's end; the December update has not decided on it.</summary>
    Active,

    /// <summary>Renewed into the next year's agreement.</summary>
    Renewed,

    /// <summary>Not renewed: ends with the agreement.</summary>
    Ending,
}

/// <summary>Why a worker was refused or not renewed, as stored and in events (upper snake case).</summary>
public enum WorkerReasonKind
{
    NotInExtract,
    DecileNotEligible,
    OutsideRegion,
    CoveredAsWageEarner,
    SponsoredElsewhere,
    BudgetExhausted,
    NoNextAgreement,
    CoverageEnded,
}

/// <summary>DTSEN's poverty category of a household, as stored.</summary>
public enum PovertyCategoryKind
{
    ExtremePoor,
    Poor,
    NearPoor,
    Vulnerable,
    NotPoor,
}

/// <summary>A sponsor: the member code of a SPONSOR member, its name and the regions it pays for.</summary>
public sealed class SponsorRecord
{
    public string SponsorCode { get; set; } = "";

    public string Name { get; set; } = "";

    /// <summary>2-digit province and 4-digit regency codes, sorted, joined by commas.</summary>
    public string RegionCodes { get; set; } = "";

    public DateTimeOffset CreateTime { get; set; }

    public DateTimeOffset UpdateTime { get; set; }

    public IReadOnlyList<string> Regions => RegionCodes.Length == 0 ? [] : RegionCodes.Split(',');

    /// <summary>A regency lies in the sponsor's regions: one of its codes is the regency or its province.</summary>
    public bool Covers(string regencyCode) => Regions.Any(r => regencyCode.StartsWith(r, StringComparison.Ordinal));
}

/// <summary>One sponsor's agreement for a year. <see cref="Committed"/> moves only under the row's lock and never passes the budget.</summary>
public sealed class AgreementRecord
{
    public string AgreementId { get; set; } = "";

    public string SponsorCode { get; set; } = "";

    public int Year { get; set; }

    public long Budget { get; set; }

    /// <summary>Program codes joined by commas ("JKK,JKM" or "JKK,JKM,JHT").</summary>
    public string Programs { get; set; } = "";

    public DateOnly StartDate { get; set; }

    public DateOnly EndDate { get; set; }

    /// <summary>The declared monthly income contributions are computed on; 0: the minimum declared income in force.</summary>
    public long DeclaredIncome { get; set; }

    public long Committed { get; set; }

    public DateTimeOffset CreateTime { get; set; }

    public DateTimeOffset UpdateTime { get; set; }

    public long Remaining => Budget - Committed;

    public bool InForceOn(DateOnly day) => StartDate <= day && day <= EndDate;

    public static string IdOf(string sponsorCode, int year) => string.Create(CultureInfo.InvariantCulture, $"{sponsorCode}-{year}");
}

/// <summary>A DTSEN extract of one sponsor taken on one day; complete once an upload of it ended normally.</summary>
public sealed class ExtractRecord
{
    public string SponsorCode { get; set; } = "";

    public DateOnly ExtractDate { get; set; }

    public bool Complete { get; set; }

    public long RowCount { get; set; }

    public string UploadedBy { get; set; } = "";

    public DateTimeOffset CreateTime { get; set; }

    public DateTimeOffset UpdateTime { get; set; }
}

/// <summary>One person of an extract. The NIK is stored only as its keyed hash (matched set-based) and sealed; <see cref="Nik"/> is filled on read.</summary>
public sealed class ExtractRowRecord
{
    public string SponsorCode { get; set; } = "";

    public DateOnly ExtractDate { get; set; }

    /// <summary>The NIK's 16 digits as a number, in memory only. Personal data: never log it.</summary>
    public long Nik { get; set; }

    /// <summary>HMAC-SHA-256 of the NIK under Rentan's key: the key and every join.</summary>
    public string NikHash { get; set; } = "";

    /// <summary>The NIK sealed under Rentan's key, bound to <see cref="RowId"/>.</summary>
    public string NikSealed { get; set; } = "";

    public string HouseholdId { get; set; } = "";

    public short Decile { get; set; }

    public string RegencyCode { get; set; } = "";

    public PovertyCategoryKind Category { get; set; }

    public bool Eligible => Decile is >= 1 and <= 4;

    /// <summary>What the sealed NIK is bound to: the row's key (a sealed value moved to another row does not open).</summary>
    public string RowId => string.Create(CultureInfo.InvariantCulture, $"{SponsorCode}/{ExtractDate:yyyy-MM-dd}/{NikHash}");
}

/// <summary>
/// A worker sponsored under one agreement: its claim on the budget (<see cref="Committed"/>), its coverage in Membership
/// and, once the December update decided, whether it renewed. Unique per (NIK, year): one sponsor per person and year.
/// </summary>
public sealed class SponsorshipRecord
{
    public string SponsorshipId { get; set; } = "";

    public string AgreementId { get; set; } = "";

    public string SponsorCode { get; set; } = "";

    public int Year { get; set; }

    /// <summary>The NIK's 16 digits, in memory only (stored hashed and sealed): the sponsor lists and pays for its workers by NIK. Personal data: never log it.</summary>
    public long Nik { get; set; }

    /// <summary>HMAC-SHA-256 of the NIK under Rentan's key: one sponsor per person and year, and every join.</summary>
    public string NikHash { get; set; } = "";

    /// <summary>The NIK sealed under Rentan's key, bound to <see cref="SponsorshipId"/>.</summary>
    public string NikSealed { get; set; } = "";

    public string FullName { get; set; } = "";

    public DateOnly BirthDate { get; set; }

    public Sex Sex { get; set; }

    public long DeclaredIncome { get; set; }

    public short Decile { get; set; }

    /// <summary>Domicile when first enrolled: Membership's channel reference for the coverage, kept through renewals.</summary>
    public string RegencyCode { get; set; } = "";

    public string Programs { get; set; } = "";

    public DateOnly StartDate { get; set; }

    public DateOnly EndDate { get; set; }

    public long Committed { get; set; }

    public SponsorshipStateKind State { get; set; }

    public string? ParticipantNumber { get; set; }

    /// <summary>Programs whose coverage this enrolment started in Membership (Membership's answer).</summary>
    public string? StartedPrograms { get; set; }

    public WorkerReasonKind? EndReason { get; set; }

    /// <summary>The previous year's sponsorship this one renewed.</summary>
    public string? RenewedFrom { get; set; }

    public string CreateMemberCode { get; set; } = "";

    public DateTimeOffset CreateTime { get; set; }

    public DateTimeOffset UpdateTime { get; set; }

    public string NikDigits => Nik.ToString("D16", CultureInfo.InvariantCulture);
}
