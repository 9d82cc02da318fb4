using Verification.Testing;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Grpc.Testing;
using Verification.Api.Channels;
using Verification.Grpc.Tests.Support;
using Verification.Platform.Access;
using Verification.Platform.Hosting;
using Verification.Rpc.InteropServer;

namespace Verification.Grpc.Tests;

/// <summary>grpc's interop cases between our stack and Debian's python3-grpcio (gRPC C-core), in both directions.</summary>
public class InteropTests
{
    private static void AssertEveryCasePassed(string output)
    {
        foreach (var name in InteropClient.AllCases)
            Assert.True(output.Contains($"PASS {name}\n", StringComparison.Ordinal), $"case {name} did not pass:\n{output}");
        Assert.Contains($"{InteropClient.AllCases.Count} passed, 0 failed", output);
    }

    private static async Task AssertOurClientPassesEveryCaseAsync(ChannelBase channel)
    {
        var interop = new InteropClient(channel);
        var failures = new List<string>();
        foreach (var name in InteropClient.AllCases)
        {
            if (await interop.RunAsync(name) is { } failure) failures.Add($"{name}: {failure}");
        }
        Assert.Empty(failures);
    }

    [Fact]
    public async Task ThePythonGrpcioClientPassesEveryCaseAgainstOurInteropServer()
    {
        await PythonGrpcio.RequireAsync();
        await using var server = InteropCommands.BuildServer(0);
        await server.StartAsync();
        var output = await PythonGrpcio.RunClientAsync("--server_host", "127.0.0.1", "--server_port", InteropCommands.BoundPort(server).ToString(), "--test_cases", "all");
        AssertEveryCasePassed(output);
    }

    [Fact]
    public async Task ThePythonGrpcioClientPassesEveryCaseAgainstOurInteropServerOverTls()
    {
        await PythonGrpcio.RequireAsync();
        var work = Directory.CreateTempSubdirectory("verification-interop-tls-");
        try
        {
            using var authority = TestCertificates.NewAuthority("Interop test CA");
            using var certificate = TestCertificates.Issue(authority);
            var (caFile, _) = TestCertificates.WritePem(authority, work.FullName, "ca");
            await using var server = InteropCommands.BuildServer(0, certificate);
            await server.StartAsync();
            var output = await PythonGrpcio.RunClientAsync(
                "--server_host", "127.0.0.1", "--server_host_override", "localhost", "--server_port", InteropCommands.BoundPort(server).ToString(),
                "--use_tls", "--ca_file", caFile, "--test_cases", "all");
            AssertEveryCasePassed(output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task OurInteropClientPassesEveryCaseAgainstThePythonGrpcioServer()
    {
        await using var server = await PythonGrpcio.StartServerAsync();
        using var channel = new VerificationChannel($"http://127.0.0.1:{server.Port}", new ChannelSettings { RetryUnavailable = false });
        await AssertOurClientPassesEveryCaseAsync(channel);
    }

    [Fact]
    public async Task OurInteropClientPassesEveryCaseAgainstThePythonGrpcioServerOverTlsTrustingOnlyItsCa()
    {
        var work = Directory.CreateTempSubdirectory("verification-interop-tls-");
        try
        {
            using var authority = TestCertificates.NewAuthority("Interop test CA");
            using var certificate = TestCertificates.Issue(authority);
            var (caFile, _) = TestCertificates.WritePem(authority, work.FullName, "ca");
            var (certificateFile, keyFile) = TestCertificates.WritePem(certificate, work.FullName, "server");
            await using var server = await PythonGrpcio.StartServerAsync("--use_tls", "--cert", certificateFile, "--key", keyFile);
            using var channel = new VerificationChannel($"https://localhost:{server.Port}", new ChannelSettings { RetryUnavailable = false }.TrustOnly(caFile));
            await AssertOurClientPassesEveryCaseAsync(channel);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task OverMutualTlsTheHostKnowsTheMemberByItsCertificateAndEveryInteropCasePassesThroughItsInterceptors()
    {
        var work = Directory.CreateTempSubdirectory("verification-mtls-");
        try
        {
            using var authority = TestCertificates.NewAuthority("Verification member CA");
            using var serverCertificate = TestCertificates.Issue(authority);
            using var bankCertificate = TestCertificates.Issue(authority, "bank-mandiri");
            var (caFile, _) = TestCertificates.WritePem(authority, work.FullName, "ca");
            var (certificateFile, keyFile) = TestCertificates.WritePem(serverCertificate, work.FullName, "server");
            var membersFile = Path.Combine(work.FullName, "members.json");
            MemberEntry[] members =
            [
                new() { Code = "bank-mandiri", Name = "Bank Mandiri", Role = MemberRole.Bank, BankCode = "008", CertificateThumbprints = [bankCertificate.GetCertHashString(HashAlgorithmName.SHA256)] },
            ];
            await File.WriteAllTextAsync(membersFile, JsonSerializer.Serialize(members, MemberDirectory.FileJson));

            await using var host = await WireHost.StartAsync(null,
                $"Verification:Listen:CertificatePath={certificateFile}",
                $"Verification:Listen:CertificateKeyPath={keyFile}",
                "Verification:Listen:RequireClientCertificate=true",
                $"Verification:Listen:ClientCaPath={caFile}",
                $"Verification:Access:MembersFile={membersFile}");

            using (var bank = new VerificationChannel(host.Address, new ChannelSettings { ClientCertificate = bankCertificate, RetryUnavailable = false }.TrustOnly(caFile)))
            {
                var client = new TestService.TestServiceClient(bank);
                var whoami = await client.UnaryCallAsync(new SimpleRequest(), new Metadata { { "x-probe", "whoami" } });
                Assert.Equal("bank-mandiri", whoami.Username);
                Assert.Equal(bankCertificate.Thumbprint, whoami.OauthScope);
                await AssertOurClientPassesEveryCaseAsync(bank);
            }

            // Without a client certificate the TLS handshake is refused, so the call never reaches the access rules (which would say
            // UNAUTHENTICATED); Grpc.Net.Client reports the refusal as UNAVAILABLE or INTERNAL depending on when the alert arrives.
            using var anonymous = new VerificationChannel(host.Address, new ChannelSettings { RetryUnavailable = false }.TrustOnly(caFile));
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(anonymous).EmptyCallAsync(new Empty()));
            Assert.True(ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"expected the connection to be refused, got {ex.Status}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
