using Verification.Domain;
namespace Verification.NonAsn.Data;

/// <summary>The kind of non-ASN employment, stored as its name (PPNPN, HONORER, CONTRACT).</summary>
public enum EmploymentKind
{
    Ppnpn,
    Honorer,
    Contract,
}

/// <summary>The life of an employment: in force (or starting later) until ended.</summary>
public enum EmploymentStateKind
{
    Active,
    Ended,
}

/// <summary>Why an employment ended, as stored.</summary>
public enum EmploymentEndReasonKind
{
    ContractEnded,
    Resigned,
    Dismissed,
    AppointedAsn,
    Deceased,
    Other,
}

/// <summary>
/// One non-ASN employment of one employer number, keyed by (employer number, NIK, contract start); the NIK is stored only as its keyed hash and sealed. The registered
/// wage and contract end are kept beside the current ones: a re-sent upload is compared with what was registered,
/// not with later updates.
/// </summary>
public sealed class EmploymentRecord
{
    public string EmploymentId { get; set; } = "";

    public string EmployerNumber { get; set; } = "";

    /// <summary>The 16 NIK digits, in memory only: the employer lists and bills its own staff by NIK. Personal data: never log it.</summary>
    public string Nik { get; set; } = "";

    /// <summary>What is stored for lookups: the NIK's keyed hash (<see cref="StaffNikCipher.Hash"/>).</summary>
    public string NikHash { get; set; } = "";

    /// <summary>What is stored to give the NIK back: sealed with the module key (<see cref="StaffNikCipher.Seal"/>).</summary>
    public string NikSealed { get; set; } = "";

    public string FullName { get; set; } = "";

    public DateOnly BirthDate { get; set; }

    public Sex Sex { get; set; }

    public string Position { get; set; } = "";

    public string WorkUnit { get; set; } = "";

    public EmploymentKind Kind { get; set; }

    public DateOnly ContractStartDate { get; set; }

    public DateOnly? RegisteredContractEndDate { get; set; }

    /// <summary>The contract's last day after updates (extensions, earlier ends).</summary>
    public DateOnly? ContractEndDate { get; set; }

    public long RegisteredMonthlyWage { get; set; }

    /// <summary>The wage after the latest update, whatever its effective date.</summary>
    public long MonthlyWage { get; set; }

    /// <summary>Program codes joined by commas in the API's order ("JKK,JKM,JHT").</summary>
    public string Programs { get; set; } = "";

    /// <summary>JKK risk class 1 (very low) to 5 (very high); an unspecified class is stored as 1, the lowest.</summary>
    public int JkkRiskClass { get; set; }

    /// <summary>The programs whose coverage this employment started in Membership: what ending it ends.</summary>
    public string StartedPrograms { get; set; } = "";

    public string ParticipantNumber { get; set; } = "";

    public EmploymentStateKind State { get; set; }

    public DateOnly? EndDate { get; set; }

    public EmploymentEndReasonKind? EndReason { get; set; }

    /// <summary>Program codes whose coverage ended with the employment (Membership's answer).</summary>
    public string? EndedPrograms { get; set; }

    public string CreateMemberCode { get; set; } = "";

    public DateTimeOffset CreateTime { get; set; }

    public DateTimeOffset UpdateTime { get; set; }

    /// <summary>The last day the employment gives coverage: the end date once ended, else the contract's end (null: open).</summary>
    public DateOnly? LastDay => State == EmploymentStateKind.Ended ? EndDate : ContractEndDate;
}

/// <summary>A wage change of an employment from a day on: the statement of a month uses the wage in effect then.</summary>
public sealed class WageChangeRecord
{
    public string EmploymentId { get; set; } = "";

    public DateOnly EffectiveDate { get; set; }

    public long MonthlyWage { get; set; }

    public DateTimeOffset CreateTime { get; set; }
}
