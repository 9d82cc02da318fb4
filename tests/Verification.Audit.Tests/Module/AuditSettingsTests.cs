using Microsoft.Extensions.Configuration;
using Verification.Audit.Features.Keys;
using Verification.Audit.Verifier;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;

namespace Verification.Audit.Tests.Module;

public sealed class AuditSettingsTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "verification-audit-settings-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private VerificationHostContext Host(HostingMode mode) =>
        new(new VerificationOptions { Mode = mode }, new DatabaseOptions(), new BusOptions(), ["audit"], _data);

    private static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Fact]
    public void MonolithicModeCreatesOwnerOnlyDevelopmentKeysOnceAndWritesThePublicKeyBeside()
    {
        var host = Host(HostingMode.Monolithic);
        var settings = AuditSettings.Read(Config(), host);
        // Nothing is written until the host has checked every setting.
        Assert.False(Directory.Exists(_data));
        using var signer = settings.LoadSigner();
        Assert.NotNull(settings.LoadNikHasher());
        host.FirstStart.WriteAll();
        var publicKey = File.ReadAllText(Path.Combine(_data, "audit", AuditKeys.DevelopmentPublicKeyFile));
        Assert.Equal(signer.ExportPublicKeyPem().Trim(), publicKey.Trim());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(settings.SigningKeyPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(settings.NikHmacKeyPath));
        }

        var again = AuditSettings.Read(Config(), Host(HostingMode.Monolithic));
        using var sameSigner = again.LoadSigner();
        Assert.Equal(signer.ExportPublicKeyPem(), sameSigner.ExportPublicKeyPem());
        Assert.Equal(TimeSpan.FromSeconds(5), again.TreeHeadInterval);
        Assert.Equal(1000, again.TreeHeadEntries);
    }

    [Theory]
    [InlineData("SigningKeyPath")]
    [InlineData("NikHmacKeyPath")]
    public void MicroservicesModeNeedsBothKeysConfigured(string missing)
    {
        Directory.CreateDirectory(_data);
        // Mounted secrets live outside the data directory (a key inside it is refused).
        var secrets = Directory.CreateTempSubdirectory("verification-secrets-").FullName;
        var signing = Path.Combine(secrets, "sign.pem");
        using (var signer = TreeHeadSigner.Generate())
        {
            File.WriteAllText(signing, signer.ExportPrivateKeyPem());
        }

        var nik = Path.Combine(secrets, "nik.key");
        File.WriteAllText(nik, NikHasher.NewKeyFileContent());
        var settings = new List<(string, string)>();
        if (missing != "SigningKeyPath")
        {
            settings.Add(("Verification:Audit:SigningKeyPath", signing));
        }

        if (missing != "NikHmacKeyPath")
        {
            settings.Add(("Verification:Audit:NikHmacKeyPath", nik));
        }

        var error = Assert.Throws<ConfigurationError>(() => AuditSettings.Read(Config([.. settings]), Host(HostingMode.Microservices)));
        Assert.Equal($"Verification:Audit:{missing}", error.Key);
        Assert.False(Directory.Exists(Path.Combine(_data, "audit")));
    }

    [Theory]
    [InlineData("TreeHeadEntries", "0")]
    [InlineData("TreeHeadEntries", "many")]
    [InlineData("TreeHeadInterval", "-00:00:01")]
    [InlineData("AppendBatchSize", "100000")]
    [InlineData("PollInterval", "soon")]
    public void AMalformedSettingIsNamedByItsKey(string key, string value)
    {
        var error = Assert.Throws<ConfigurationError>(() => AuditSettings.Read(Config(($"Verification:Audit:{key}", value)), Host(HostingMode.Monolithic)));
        Assert.Equal($"Verification:Audit:{key}", error.Key);
    }

    [Fact]
    public void KeyFilesThatHoldNoUsableKeyAreRefusedWithoutEchoingThem()
    {
        Directory.CreateDirectory(_data);
        var shortKey = Path.Combine(_data, "short.key");
        File.WriteAllText(shortKey, Convert.ToBase64String(new byte[16]));
        var notPem = Path.Combine(_data, "not.pem");
        File.WriteAllText(notPem, "secret-material");
        var settings = AuditSettings.Read(
            Config(("Verification:Audit:NikHmacKeyPath", shortKey), ("Verification:Audit:SigningKeyPath", notPem)),
            Host(HostingMode.Monolithic));

        Assert.Equal("Verification:Audit:NikHmacKeyPath", Assert.Throws<ConfigurationError>(settings.LoadNikHasher).Key);
        var signing = Assert.Throws<ConfigurationError>(() => settings.LoadSigner());
        Assert.Equal("Verification:Audit:SigningKeyPath", signing.Key);
        Assert.DoesNotContain("secret-material", signing.Message, StringComparison.Ordinal);
    }
}
