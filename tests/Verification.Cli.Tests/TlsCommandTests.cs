using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Verification.Membership;
using Verification.Platform.Access;
using Verification.Platform.Hosting;

namespace Verification.Cli.Tests;

/// <summary>The CLI over TLS with a private CA and mutual TLS with a member certificate, as a bank would connect.</summary>
public sealed class TlsCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("verification-cli-tls-");
    private WebApplication? app;
    private string address = "";

    private string CaFile => Path.Combine(work.FullName, "ca.pem");

    private string BankCertificate => Path.Combine(work.FullName, "bank.pem");

    private string BankKey => Path.Combine(work.FullName, "bank.key");

    public async Task InitializeAsync()
    {
        // One instant for every certificate: a leaf may not outlive its CA, and two reads of the clock can straddle a tick.
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Verification Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4]);
        var serverPem = Path.Combine(work.FullName, "server.pem");
        var serverKeyPem = Path.Combine(work.FullName, "server.key");
        await File.WriteAllTextAsync(serverPem, server.ExportCertificatePem());
        await File.WriteAllTextAsync(serverKeyPem, serverKey.ExportPkcs8PrivateKeyPem());

        using var bankKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var bankRequest = new CertificateRequest("CN=bank-bri", bankKey, HashAlgorithmName.SHA256);
        bankRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var bank = bankRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        await File.WriteAllTextAsync(BankCertificate, bank.ExportCertificatePem());
        await File.WriteAllTextAsync(BankKey, bankKey.ExportPkcs8PrivateKeyPem());

        var members = new[]
        {
            new MemberEntry { Code = "bank-bri", Name = "Bank BRI", Role = MemberRole.Bank, BankCode = "002", CertificateThumbprints = [bank.GetCertHashString(HashAlgorithmName.SHA256)] },
        };
        var membersFile = Path.Combine(work.FullName, "members.json");
        await File.WriteAllTextAsync(membersFile, JsonSerializer.Serialize(members, MemberDirectory.FileJson));

        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0",
            // No REST door: the default port 50052 is not ours to take on a shared machine.
            "--Verification:Listen:RestPort=",
            $"--Verification:Database:DataDirectory={Path.Combine(work.FullName, "data")}",
            $"--Verification:Listen:CertificatePath={serverPem}",
            $"--Verification:Listen:CertificateKeyPath={serverKeyPem}",
            "--Verification:Listen:RequireClientCertificate=true",
            $"--Verification:Access:MembersFile={membersFile}",
        ]);
        builder.AddVerificationHost([MembershipModule.Module]);
        app = builder.Build();
        app.MapVerificationHost([MembershipModule.Module]);
        await app.StartAsync();
        address = $"https://localhost:{new Uri(app.Urls.First()).Port}";
    }

    [Fact]
    public async Task AMemberCertificateAndThePrivateCaGetAnAnswer()
    {
        var run = await RunAsync("--ca-file", CaFile, "--cert", BankCertificate, "--key", BankKey, "verify", TestData.NewNik());
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());
        Assert.Contains("NOT COVERED", run.Output);
    }

    [Fact]
    public async Task WithoutTheMemberCertificateTheServerRefusesTheConnection()
    {
        var run = await RunAsync("--ca-file", CaFile, "verify", TestData.NewNik());
        Assert.True(run.ExitCode == ExitCodes.Unavailable, run.ToString());
        Assert.True(run.Error.Contains("--cert/--key (your member certificate)", StringComparison.Ordinal), run.ToString());
        Assert.DoesNotContain("NOT COVERED", run.Output);
    }

    [Fact]
    public async Task AServerCertificateFromAnotherCaIsNotTrusted()
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = new CertificateRequest("CN=Someone Else", otherKey, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var otherCa = Path.Combine(work.FullName, "other-ca.pem");
        await File.WriteAllTextAsync(otherCa, other.ExportCertificatePem());
        var run = await RunAsync("--ca-file", otherCa, "--cert", BankCertificate, "--key", BankKey, "verify", TestData.NewNik());
        Assert.True(run.ExitCode == ExitCodes.Unavailable, run.ToString());
        Assert.DoesNotContain("NOT COVERED", run.Output);
        Assert.Contains("No secure connection", run.Error);
    }

    private async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliApp.RunAsync(["--address", address, .. args], TestConsole.Create(output, terminal: false), error, _ => null, CancellationToken.None);
        return new CliRun(exit, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            work.Delete(recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold a file a moment longer; the temp folder is the OS's to clean.
        }
    }
}
