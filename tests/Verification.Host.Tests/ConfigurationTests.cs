using System.Diagnostics;

namespace Verification.Host.Tests;

public class ConfigurationTests
{
    private static string HostDll => Path.Combine(AppContext.BaseDirectory, "verification-host.dll");

    private static async Task<(int ExitCode, string StdOut, string StdErr)> RunHostAsync(params string[] args)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-config-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        info.ArgumentList.Add(HostDll);
        info.ArgumentList.Add($"--Verification:Database:DataDirectory={data}");
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // Only a guard against a hang, not a speed check: a cold start took over 30 s at load 88. The process never outlives the test.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The host did not exit within 5 minutes: {string.Join(' ', args)}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("--Verification:Listen:Port=abc", "Verification:Listen:Port: expected a whole number from 0 to 65535, got 'abc'")]
    [InlineData("--Verification:Mode=Cluster", "Verification:Mode: expected one of Monolithic, Microservices, got 'Cluster'")]
    [InlineData("--Verification:Services=membership,payroll", "Verification:Services: expected \"all\" or a comma-separated list of")]
    [InlineData("--Verification:Bus:Transport=RabbitMq", "Verification:Bus:RabbitMqUri: expected an amqp://user:password@host:port/vhost address")]
    [InlineData("--Verification:Access:MembersFile=/nonexistent/members.json", "Verification:Access:MembersFile: expected an existing members file")]
    [InlineData("--Verification:Listen:Address=localhost:80", "Verification:Listen:Address: expected an IP address")]
    [InlineData("--Verification:Access:MembersFile=/etc/hostname", "Verification:Access:MembersFile: expected a readable JSON array of members")]
    [InlineData("--Verification:Services=kur", "Verification:Endpoints:membership: expected the address of membership (for example http://membership:50051), which kur calls")]
    [InlineData("--Verification:Services=prakerja,audit", "Verification:Endpoints:membership: expected the address of membership (for example http://membership:50051), which prakerja calls")]
    public async Task AConfigurationErrorStopsTheHostWithOneLineNamingTheKey(string setting, string expected)
    {
        var (exitCode, _, stderr) = await RunHostAsync(setting, "migrate");
        Assert.Equal(2, exitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("configuration error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [Fact]
    public async Task MicroservicesModeNeedsAConnectionStringPerModule()
    {
        var (exitCode, _, stderr) = await RunHostAsync("--Verification:Mode=Microservices", "--Verification:Bus:RabbitMqUri=amqp://guest:guest@127.0.0.1:5672/", "migrate");
        Assert.Equal(2, exitCode);
        Assert.Contains("Verification:Database:ConnectionStrings:", stderr);
    }

    [Fact]
    public async Task AModuleWhoseDependencyHasAnAddressStartsWithoutIt()
    {
        var (exitCode, stdout, stderr) = await RunHostAsync("--Verification:Listen:Port=0", "--Verification:Listen:RestPort=", "--Verification:Services=kur", "--Verification:Endpoints:membership=http://127.0.0.1:1", "migrate");
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("migrations applied for: kur", stdout);
    }

    [Fact]
    public async Task InMicroservicesModeATreeHeadSigningKeyInsideTheDataDirectoryStopsTheHost()
    {
        var data = Directory.CreateTempSubdirectory("verification-keyplace-");
        try
        {
            var key = Path.Combine(data.FullName, "audit", "signing.pem");
            Directory.CreateDirectory(Path.GetDirectoryName(key)!);
            using (var ecdsa = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
                await File.WriteAllTextAsync(key, ecdsa.ExportPkcs8PrivateKeyPem());
            var nikKey = Path.Combine(Path.GetTempPath(), $"nik-{Guid.NewGuid():N}.key");
            await File.WriteAllTextAsync(nikKey, Convert.ToBase64String(new byte[32]));
            var members = Path.Combine(Path.GetTempPath(), $"members-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(members, "[]");
            var (exitCode, _, stderr) = await RunHostAsync("--Verification:Mode=Microservices", "--Verification:Services=audit",
                $"--Verification:Database:DataDirectory={data.FullName}", "--Verification:Bus:RabbitMqUri=amqp://guest:guest@127.0.0.1:5672/",
                "--Verification:Database:ConnectionStrings:audit=Host=127.0.0.1;Database=a", "--Verification:Database:ConnectionStrings:access=Host=127.0.0.1;Database=b",
                $"--Verification:Access:MembersFile={members}", $"--Verification:Audit:SigningKeyPath={key}", $"--Verification:Audit:NikHmacKeyPath={nikKey}", "migrate");
            Assert.Equal(2, exitCode);
            Assert.Contains("Verification:Audit:SigningKeyPath: expected a key file outside the data directory", stderr);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheMigrateCommandAppliesMigrationsAndExits()
    {
        var (exitCode, stdout, stderr) = await RunHostAsync("--Verification:Listen:Port=0", "migrate");
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("migrations applied for:", stdout);
    }
}
