using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Verification.Testing;

/// <summary>A private CA and the certificates it issues, as members and modules get them; written as PEM where a peer needs files.</summary>
public static class TestCertificates
{
    public static X509Certificate2 NewAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A certificate for <c>localhost</c> and 127.0.0.1, usable by a server and as a member's client certificate.</summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string commonName = "localhost", string? onlyDnsName = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        if (onlyDnsName is not null)
        {
            names.AddDnsName(onlyDnsName);
        }
        else
        {
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
        }
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes the certificate (and its private key, if it has one) as PEM files in <paramref name="directory"/>.</summary>
    public static (string CertificateFile, string KeyFile) WritePem(X509Certificate2 certificate, string directory, string name)
    {
        var certificateFile = Path.Combine(directory, name + ".pem");
        var keyFile = Path.Combine(directory, name + ".key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        if (certificate.GetECDsaPrivateKey() is { } key)
        {
            using (key) File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }
        return (certificateFile, keyFile);
    }
}
