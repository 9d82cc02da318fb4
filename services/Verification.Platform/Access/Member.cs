using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

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

    /// <summary>A local government or agency paying for vulnerable workers of its regions (Inpres 8/2025); scope: its region codes.</summary>
    Sponsor,

    /// <summary>A BPJS Ketenagakerjaan administrator: registers sponsors and their agreements.</summary>
    Administrator,

    /// <summary>
    /// The partner portal's own identity: it may call nothing as itself, only for a signed-in member named in a signed
    /// delegation (<see cref="MemberDelegation"/>), which is then authorized, limited and audited as that member.
    /// </summary>
    Portal,
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
    IReadOnlyList<string>? RegionCodes = null,
    MemberLimits? Limits = null)
{
    public bool ActsForBank(string bankCode) => Role == MemberRole.Bank && string.Equals(BankCode, bankCode, StringComparison.Ordinal);

    public bool ActsForEmployer(string employerNumber) =>
        Role is MemberRole.Agency or MemberRole.LocalGovernment && (EmployerNumbers?.Contains(employerNumber, StringComparer.Ordinal) ?? false);

    /// <summary>Every region code of the member's scope: 2-digit provinces and 4-digit regencies.</summary>
    public IReadOnlyList<string> Regions => [.. (RegionCodes ?? []).Append(RegionCode).OfType<string>().Where(r => r.Length > 0).Distinct(StringComparer.Ordinal)];

    /// <summary>A sponsor serves a region (a province or regency code) that one of its own codes contains.</summary>
    public bool ServesRegion(string regionCode) =>
        Role == MemberRole.Sponsor && regionCode.Length > 0 && Regions.Any(r => regionCode.StartsWith(r, StringComparison.Ordinal));

    public override string ToString() => $"{Code} ({Role})";
}

/// <summary>A member's entry in the members file: identity plus how it authenticates (hashes and thumbprints only, never secrets).</summary>
public sealed class MemberEntry
{
    public string Code { get; set; } = "";
    public string Name { get; set; } = "";
    [JsonRequired]
    public MemberRole Role { get; set; }

    /// <summary>When the member's access ends (a UTC instant, optional): from then on its credentials are refused like unknown ones.</summary>
    [JsonConverter(typeof(UtcInstantJsonConverter)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ExpiresAt { get; set; }

    public string? BankCode { get; set; }
    public List<string> EmployerNumbers { get; set; } = [];
    public string? RegionCode { get; set; }

    /// <summary>More region codes (a sponsor covering several regencies, or a province).</summary>
    public List<string> RegionCodes { get; set; } = [];

    /// <summary>SHA-256 of the bearer token, lower-case hex.</summary>
    public List<string> TokenHashes { get; set; } = [];

    /// <summary>SHA-256 thumbprints of the member's client certificates (mutual TLS), hex.</summary>
    public List<string> CertificateThumbprints { get; set; } = [];

    /// <summary>This member's own rate limits; null (or a field unset) takes the host's defaults.</summary>
    public MemberLimits? Limits { get; set; }

    /// <summary>A <see cref="MemberRole.Portal"/> member's delegation-signing public keys (P-256, base64 SubjectPublicKeyInfo); several during a rotation.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? DelegationKeys { get; set; }

    public Member ToMember() => new(Code, Name, Role, BankCode, EmployerNumbers.ToArray(), RegionCode, RegionCodes.ToArray(), Limits);
}

/// <summary>An instant written with its offset ("2027-01-31T17:00:00Z"): a time without one would be read in the server's zone.</summary>
public sealed class UtcInstantJsonConverter : JsonConverter<DateTimeOffset?>
{
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (text is null || !HasOffset(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
            throw new JsonException("expected an ISO 8601 instant with Z or an offset");
        return instant.ToUniversalTime();
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } instant) writer.WriteStringValue(instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
        else writer.WriteNullValue();
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
}
