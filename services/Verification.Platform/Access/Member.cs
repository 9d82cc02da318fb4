namespace Verification.Platform.Access;

/// <summary>What kind of institution a member is; it decides which RPCs it may call.</summary>
public enum MemberRole
{
    Bank,
    Agency,
    LocalGovernment,
    PrakerjaPmo,
    Auditor,
    InternalService,
}

/// <summary>
/// An institution allowed to call the suite: its code, role and scope (the bank code it acts for,
/// the employer numbers it registers staff under, the region it serves).
/// </summary>
public sealed record Member(
    string Code,
    string Name,
    MemberRole Role,
    string? BankCode = null,
    IReadOnlyList<string>? EmployerNumbers = null,
    string? RegionCode = null,
    MemberLimits? Limits = null)
{
    public bool ActsForBank(string bankCode) => Role == MemberRole.Bank && string.Equals(BankCode, bankCode, StringComparison.Ordinal);

    public bool ActsForEmployer(string employerNumber) =>
        Role is MemberRole.Agency or MemberRole.LocalGovernment && (EmployerNumbers?.Contains(employerNumber, StringComparer.Ordinal) ?? false);

    public override string ToString() => $"{Code} ({Role})";
}

/// <summary>A member's entry in the members file: identity plus how it authenticates (hashes and thumbprints only, never secrets).</summary>
public sealed class MemberEntry
{
    public string Code { get; set; } = "";
    public string Name { get; set; } = "";
    public MemberRole Role { get; set; }
    public string? BankCode { get; set; }
    public List<string> EmployerNumbers { get; set; } = [];
    public string? RegionCode { get; set; }

    /// <summary>SHA-256 of the bearer token, lower-case hex.</summary>
    public List<string> TokenHashes { get; set; } = [];

    /// <summary>SHA-256 thumbprints of the member's client certificates (mutual TLS), hex.</summary>
    public List<string> CertificateThumbprints { get; set; } = [];

    /// <summary>This member's own rate limits; null (or a field unset) takes the host's defaults.</summary>
    public MemberLimits? Limits { get; set; }

    public Member ToMember() => new(Code, Name, Role, BankCode, EmployerNumbers.ToArray(), RegionCode, Limits);
}
