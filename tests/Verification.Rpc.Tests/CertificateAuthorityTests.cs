using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Testing;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;

namespace Verification.Rpc.Tests;

public class CertificateAuthorityTests
{
    private static X509Certificate2 NewCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), null);
    }

    private static X509Certificate2 Issue(X509Certificate2 ca)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(7), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public async Task TrustOnlyAcceptsTheCasCertificatesAndRefusesOthers()
    {
        using var ca = NewCa("Verification test CA");
        using var otherCa = NewCa("Someone else's CA");
        using var serverCertificate = Issue(ca);
        var caFile = Path.GetTempFileName();
        var otherFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(caFile, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(otherFile, otherCa.ExportCertificatePem());
        try
        {
            await using var server = await TestServer.StartAsync(certificate: serverCertificate);
            using (var trusted = new RpcChannel(server.Address, new RpcChannelOptions().TrustOnly(caFile)))
                await new TestServiceClient(trusted).EmptyCall(new Empty());

            using var untrusted = new RpcChannel(server.Address, new RpcChannelOptions { Retry = RetryPolicy.None }.TrustOnly(otherFile));
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(untrusted).EmptyCall(new Empty()));
            Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
            Assert.True(CertificateAuthority.Issued(ca, serverCertificate));
            Assert.False(CertificateAuthority.Issued(otherCa, serverCertificate));
        }
        finally
        {
            File.Delete(caFile);
            File.Delete(otherFile);
        }
    }
}
