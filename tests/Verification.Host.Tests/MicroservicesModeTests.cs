using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Verification.Platform.Access;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;
using Verification.Rpc.InteropServer;
using Verification.Testing;
using Verification.Api.Channels;

namespace Verification.Host.Tests;

/// <summary>The same composition in microservices mode: PostgreSQL, RabbitMQ, mutual TLS with member certificates.</summary>
public class MicroservicesModeTests
{
    [Fact]
    public async Task MembersAuthenticateByCertificateAndDenialsTravelThroughRabbitMq()
    {
        var postgres = await PostgresServer.SharedAsync();
        var rabbit = await RabbitMqBroker.SharedAsync();
        var work = Directory.CreateTempSubdirectory("verification-microservices-");
        try
        {
            using var serverCertificate = InteropCommands.SelfSignedCertificate();
            using var bankCertificate = InteropCommands.SelfSignedCertificate();
            using var auditorCertificate = InteropCommands.SelfSignedCertificate();
            var certPath = Path.Combine(work.FullName, "server.pem");
            var keyPath = Path.Combine(work.FullName, "server.key");
            await File.WriteAllTextAsync(certPath, serverCertificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, serverCertificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            var members = new[]
            {
                new MemberEntry { Code = "bank-mandiri", Name = "Bank Mandiri", Role = MemberRole.Bank, BankCode = "008", CertificateThumbprints = [bankCertificate.GetCertHashString(HashAlgorithmName.SHA256)] },
                new MemberEntry { Code = "auditor-bpkp", Name = "BPKP", Role = MemberRole.Auditor, CertificateThumbprints = [auditorCertificate.GetCertHashString(HashAlgorithmName.SHA256)] },
            };
            var membersFile = Path.Combine(work.FullName, "members.json");
            await File.WriteAllTextAsync(membersFile, JsonSerializer.Serialize(members, MemberDirectory.FileJson));

            var builder = WebApplication.CreateSlimBuilder(
            [
                "--Verification:Mode=Microservices",
                "--Verification:Services=probe",
                "--Verification:Listen:Port=0",
                "--Verification:Listen:RestPort=",
                $"--Verification:Listen:CertificatePath={certPath}",
                $"--Verification:Listen:CertificateKeyPath={keyPath}",
                "--Verification:Listen:RequireClientCertificate=true",
                $"--Verification:Database:ConnectionStrings:access={await postgres.CreateDatabaseAsync("access")}",
                $"--Verification:Database:ConnectionStrings:probe={await postgres.CreateDatabaseAsync("probe")}",
                $"--Verification:Bus:RabbitMqUri={rabbit.AmqpUri}",
                $"--Verification:Access:MembersFile={membersFile}",
            ]);
            builder.AddVerificationHost([ProbeHost.ProbeModule]);
            await using var app = builder.Build();
            app.MapVerificationHost([ProbeHost.ProbeModule]);
            await app.StartAsync();
            var address = $"https://localhost:{new Uri(app.Urls.First()).Port}";

            VerificationChannel ChannelFor(X509Certificate2 client) => new(address, new ChannelSettings
            {
                ClientCertificate = client,
                RetryUnavailable = false,
                ServerCertificateValidation = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == serverCertificate.GetCertHashString(),
            });

            using (var bank = ChannelFor(bankCertificate))
            {
                var response = await new TestService.TestServiceClient(bank).UnaryCallAsync(new SimpleRequest());
                Assert.Equal("bank-mandiri", response.Username);
            }

            using (var auditor = ChannelFor(auditorCertificate))
            {
                var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(auditor).EmptyCallAsync(new Empty()));
                Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
            }

            using (var stranger = ChannelFor(InteropCommands.SelfSignedCertificate()))
            {
                var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(stranger).EmptyCallAsync(new Empty()));
                Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
            }

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && !AccessDeniedCollector.Received.Any(e => e.MemberCode == "auditor-bpkp")) await Task.Delay(100);
            Assert.Contains(AccessDeniedCollector.Received, e => e.MemberCode == "auditor-bpkp" && e.Role == "Auditor");
            await app.StopAsync();
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
