using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Verification.Api.Channels;

/// <summary>Trust exactly one private CA (member and module certificates), instead of the system store.</summary>
public static class CertificateAuthority
{
    /// <summary>
    /// Trusts a server certificate that <paramref name="ca"/> issued for the host name called: the CA issues members' and
    /// modules' certificates too, and none of those may pass for the server's.
    /// </summary>
    public static RemoteCertificateValidationCallback ServerValidation(X509Certificate2 ca) =>
        (_, presented, _, errors) => presented is not null && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && Issued(ca, presented);

    public static bool Issued(X509Certificate2 ca, X509Certificate presented)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        // Member certificates are short-lived and revoked by removing them from the members file.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
