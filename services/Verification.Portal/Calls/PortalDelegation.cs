using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Verification.Platform.Access;
using Verification.Platform.Hosting;

namespace Verification.Portal.Calls;

/// <summary>
/// The portal's own identity when it delegates (<see cref="PortalSettings.DelegationKeyPath"/>): a <see cref="MemberRole.Portal"/>
/// member, known to the modules by its token or certificate, that signs for each call a short-lived assertion naming the
/// signed-in member and the method. The modules then authorize, limit and audit the call as that member. Checked at start:
/// the identity must be a portal member of the members file whose entry holds this key's public half.
/// </summary>
public sealed class PortalDelegation : IDisposable
{
    /// <summary>Each call's assertion lives this long: long enough for clock skew between the portal and a module, short for replay.</summary>
    public static readonly TimeSpan AssertionLifetime = TimeSpan.FromSeconds(60);

    private readonly ECDsa? _key;
    private readonly TimeProvider _time;

    public PortalDelegation(PortalSettings settings, MemberDirectory members, TimeProvider time)
    {
        _time = time;
        if (settings.DelegationKeyPath is not { } keyPath) return;
        _key = ReadKey(keyPath);
        Token = settings.DelegationTokenPath is { } tokenPath ? File.ReadAllText(tokenPath).Trim() : null;
        var identity = Token is not null ? members.FindByToken(Token) : IdentifyCertificate(settings, members);
        var setting = Token is not null ? $"{PortalSettings.SectionName}:DelegationTokenPath" : $"{PortalSettings.SectionName}:ClientCertificatePath";
        if (identity is not { Role: MemberRole.Portal })
            throw new ConfigurationError(setting, "the credential of a Portal member of the members file", identity is null ? "no member's" : $"member {identity.Code} ({identity.Role})'s");
        var publicKey = _key.ExportSubjectPublicKeyInfo();
        if (!members.DelegationKeysOf(identity.Code).Any(k => k.AsSpan().SequenceEqual(publicKey)))
            throw new ConfigurationError($"{PortalSettings.SectionName}:DelegationKeyPath", $"a key whose public half is in the delegationKeys of member {identity.Code}", keyPath);
        PortalCode = identity.Code;
    }

    /// <summary>Whether calls are made by delegation; else with the signed-in member's own token.</summary>
    public bool Enabled => _key is not null;

    /// <summary>The portal member's bearer token, when its identity is a token (else its certificate goes on the channel).</summary>
    public string? Token { get; }

    public string PortalCode { get; } = "";

    /// <summary>The assertion for one call of <paramref name="memberCode"/> to <paramref name="method"/> (e.g. "/verification.kur.v1.KurService/Enrol").</summary>
    public string Sign(string memberCode, string method)
    {
        var key = _key ?? throw new InvalidOperationException("The portal is not configured to delegate.");
        var now = _time.GetUtcNow();
        return MemberDelegation.Sign(key, new DelegationClaim(PortalCode, memberCode, method, now, now + AssertionLifetime));
    }

    private static ECDsa ReadKey(string path)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value) throw new CryptographicException("not P-256");
            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new ConfigurationError($"{PortalSettings.SectionName}:DelegationKeyPath", "a P-256 private key (PEM)", path);
        }
    }

    private static Member? IdentifyCertificate(PortalSettings settings, MemberDirectory members)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(settings.ClientCertificatePath!, settings.ClientCertificateKeyPath);
        return members.FindByCertificate(certificate);
    }

    public void Dispose() => _key?.Dispose();
}
