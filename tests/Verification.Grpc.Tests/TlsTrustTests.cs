using Verification.Testing;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Testing;
using Verification.Api.Channels;
using Verification.Grpc.Tests.Support;
using Verification.Rpc.InteropServer;

namespace Verification.Grpc.Tests;

/// <summary><see cref="ChannelSettings.TrustOnly"/>: a partner's channel trusts exactly the suite's private CA, not the system store.</summary>
public class TlsTrustTests
{
    [Fact]
    public async Task TrustOnlyAcceptsAServerCertificateIssuedByThatCaAndRefusesOthers()
    {
        var work = Directory.CreateTempSubdirectory("verification-trust-");
        try
        {
            using var authority = TestCertificates.NewAuthority("Verification test CA");
            using var otherAuthority = TestCertificates.NewAuthority("Someone else's CA");
            var (caFile, _) = TestCertificates.WritePem(authority, work.FullName, "ca");

            using var issuedByTheCa = TestCertificates.Issue(authority);
            await using (var trusted = await CountingServer.StartAsync(issuedByTheCa))
            {
                var id = ProbeLog.NewId();
                using var channel = new VerificationChannel(trusted.Address, new ChannelSettings().TrustOnly(caFile));
                await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty(), new Metadata { { "x-probe-id", id } });
                Assert.Equal(1, trusted.Log.Of("EmptyCall", id));
            }

            using var issuedByAnother = TestCertificates.Issue(otherAuthority);
            using var selfSigned = InteropCommands.SelfSignedCertificate();
            // The same CA issues members' certificates: one of those must not pass for the server's.
            using var issuedForAnotherName = TestCertificates.Issue(authority, "bank-bri", onlyDnsName: "bank-bri.members.example");
            foreach (var (what, certificate) in new (string, X509Certificate2)[]
                { ("issued by another CA", issuedByAnother), ("self-signed", selfSigned), ("issued by the CA for another name", issuedForAnotherName) })
            {
                await using var untrusted = await CountingServer.StartAsync(certificate);
                var id = ProbeLog.NewId();
                using var channel = new VerificationChannel(untrusted.Address, new ChannelSettings { RetryUnavailable = false }.TrustOnly(caFile));
                var ex = await Assert.ThrowsAsync<RpcException>(async () =>
                    await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty(), new Metadata { { "x-probe-id", id } }));
                // Grpc.Net.Client reports a refused handshake as INTERNAL or UNAVAILABLE; what matters is that our callback refused it.
                Assert.True(Causes(ex.Status.DebugException).Any(e => e is AuthenticationException), $"{what}: expected a refused TLS handshake, got {ex.Status}");
                Assert.Equal(0, untrusted.Log.Of("EmptyCall", id));
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static IEnumerable<Exception> Causes(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException) yield return current;
    }
}
