using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Verification.Platform.Access;

/// <summary>What a portal asserts for one call: it acts for <see cref="Member"/> on <see cref="Method"/> until <see cref="ExpiresAt"/>.</summary>
public sealed record DelegationClaim(string Portal, string Member, string Method, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>The outcome of checking a delegation assertion.</summary>
public abstract record DelegationCheck
{
    private DelegationCheck()
    {
    }

    public sealed record Accepted(DelegationClaim Claim) : DelegationCheck;

    /// <summary>Why it was refused, in words for the audit log (never the assertion itself).</summary>
    public sealed record Refused(string Reason) : DelegationCheck;
}

/// <summary>
/// A signed, short-lived assertion by which the partner portal calls a module for a signed-in member who may have no token
/// to forward (a member known by client certificate): "portal P acts for member M on method X until T", signed with P's
/// P-256 key whose public half is in P's members-file entry. <see cref="AccessInterceptor"/> honours it only from a caller
/// authenticated as that <see cref="MemberRole.Portal"/> member, and then authorizes, limits and audits the call as M.
/// </summary>
public static class MemberDelegation
{
    /// <summary>The call header carrying the assertion.</summary>
    public const string Header = "x-verification-delegation";

    /// <summary>The longest an assertion may live: the portal signs one per call, so this is only a bound on replay.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How far the portal's clock may run ahead of the module's.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private const int MaxLength = 2048;

    private static readonly string P256Oid = ECCurve.NamedCurves.nistP256.Oid.Value!;

    /// <summary>Signs <paramref name="claim"/> with the portal's private key.</summary>
    public static string Sign(ECDsa key, DelegationClaim claim)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(claim);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", 1);
            json.WriteString("portal", claim.Portal);
            json.WriteString("member", claim.Member);
            json.WriteString("method", claim.Method);
            json.WriteNumber("iat", claim.IssuedAt.ToUnixTimeSeconds());
            json.WriteNumber("exp", claim.ExpiresAt.ToUnixTimeSeconds());
            json.WriteEndObject();
        }

        var payload = Base64Url(buffer.WrittenSpan);
        var signature = key.SignData(Encoding.ASCII.GetBytes(payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return payload + "." + Base64Url(signature);
    }

    /// <summary>
    /// Checks an assertion presented by the authenticated portal <paramref name="portalCode"/> on <paramref name="method"/>:
    /// signed by one of the portal's <paramref name="keys"/>, issued by that portal for that method, and live at <paramref name="now"/>.
    /// Whether the member it names may be acted for is the caller's to decide (the members file in force).
    /// </summary>
    public static DelegationCheck Check(string assertion, string portalCode, IReadOnlyList<byte[]> keys, string method, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        ArgumentNullException.ThrowIfNull(keys);
        var dot = assertion.IndexOf('.', StringComparison.Ordinal);
        if (assertion.Length > MaxLength || dot <= 0 || dot != assertion.LastIndexOf('.')) return new DelegationCheck.Refused("the delegation is not a signed assertion");
        var payloadText = assertion[..dot];
        if (FromBase64Url(payloadText) is not { } payload || FromBase64Url(assertion[(dot + 1)..]) is not { } signature)
            return new DelegationCheck.Refused("the delegation is not a signed assertion");
        if (!SignedByAny(keys, Encoding.ASCII.GetBytes(payloadText), signature))
            return new DelegationCheck.Refused("the delegation is not signed by a key of the calling portal");
        if (Read(payload) is not { } claim) return new DelegationCheck.Refused("the delegation's content is malformed");
        if (!string.Equals(claim.Portal, portalCode, StringComparison.Ordinal)) return new DelegationCheck.Refused("the delegation was issued by another portal");
        if (!string.Equals(claim.Method, method, StringComparison.Ordinal)) return new DelegationCheck.Refused("the delegation was issued for another method");
        if (claim.IssuedAt > now + ClockSkew || claim.ExpiresAt <= now || claim.ExpiresAt - claim.IssuedAt > MaxLifetime)
            return new DelegationCheck.Refused("the delegation is not live (issued in the future, expired, or longer-lived than allowed)");
        return new DelegationCheck.Accepted(claim);
    }

    /// <summary>The members file's form of a portal's public key: base64 SubjectPublicKeyInfo.</summary>
    public static string PublicKeyText(ECDsa key) => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    /// <summary>The key's SubjectPublicKeyInfo bytes when <paramref name="text"/> is a base64 P-256 public key; else null.</summary>
    public static byte[]? ReadPublicKey(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var bytes = Convert.FromBase64String(text.Trim());
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(bytes, out var read);
            return read == bytes.Length && key.ExportParameters(false).Curve.Oid.Value == P256Oid ? bytes : null;
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            return null;
        }
    }

    private static bool SignedByAny(IReadOnlyList<byte[]> keys, byte[] payload, byte[] signature)
    {
        foreach (var spki in keys)
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(spki, out _);
            if (key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)) return true;
        }

        return false;
    }

    private static DelegationClaim? Read(byte[] payload)
    {
        try
        {
            using var json = JsonDocument.Parse(payload);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("v", out var version) || !version.TryGetInt32(out var v) || v != 1) return null;
            var portal = Text(root, "portal");
            var member = Text(root, "member");
            var method = Text(root, "method");
            if (portal is null || member is null || method is null) return null;
            if (!root.TryGetProperty("iat", out var iat) || !iat.TryGetInt64(out var issued) || !root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expires)) return null;
            return new DelegationClaim(portal, member, method, DateTimeOffset.FromUnixTimeSeconds(issued), DateTimeOffset.FromUnixTimeSeconds(expires));
        }
        catch (Exception ex) when (ex is JsonException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 and <= 256 } text ? text : null;

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[]? FromBase64Url(string text)
    {
        if (text.Length == 0) return null;
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => "!" };
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
