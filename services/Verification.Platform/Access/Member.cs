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
    string? RegionCode = null)
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
    [JsonRequired]
    public MemberRole Role { get; set; }

    /// <summary>When the member's access ends (a UTC instant, optional): from then on its credentials are refused like unknown ones.</summary>
    [JsonConverter(typeof(UtcInstantJsonConverter)), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ExpiresAt { get; set; }

    public string? BankCode { get; set; }
    public List<string> EmployerNumbers { get; set; } = [];
    public string? RegionCode { get; set; }

    /// <summary>SHA-256 of the bearer token, lower-case hex.</summary>
    public List<string> TokenHashes { get; set; } = [];

    /// <summary>SHA-256 thumbprints of the member's client certificates (mutual TLS), hex.</summary>
    public List<string> CertificateThumbprints { get; set; } = [];

    public Member ToMember() => new(Code, Name, Role, BankCode, EmployerNumbers.ToArray(), RegionCode);
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
