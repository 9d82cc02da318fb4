using Microsoft.Extensions.Configuration;
using Verification.Kur.Domain;
using Verification.Platform.Hosting;

namespace Verification.Kur;

/// <summary>The KUR module's settings, from <c>Verification:Kur</c>, validated at start-up.</summary>
public sealed class KurSettings
{
    public const string SectionName = "Verification:Kur";

    public const string DevelopmentKeyFile = "borrower-hmac.key";

    /// <summary>File holding the base64 HMAC key for borrowers' personal fields (at least 32 bytes). Monolithic mode creates one.</summary>
    public required string BorrowerHmacKeyPath { get; init; }

    /// <summary>Where a first start's development key waits to be written (read from there until it is).</summary>
    private FirstStartFiles? Files { get; init; }

    /// <summary>How long a bank is told to wait before retrying when Membership is unavailable.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Reads and checks the settings; in monolithic mode creates the development key on first start.</summary>
    /// <exception cref="ConfigurationError">A missing or malformed setting, named by its key.</exception>
    public static KurSettings Read(IConfiguration configuration, VerificationHostContext host)
    {
        var section = configuration.GetSection(SectionName);
        var keyPath = string.IsNullOrWhiteSpace(section["BorrowerHmacKeyPath"]) ? null : section["BorrowerHmacKeyPath"];
        if (keyPath is null)
        {
            if (host.Options.Mode != HostingMode.Monolithic)
                throw new ConfigurationError($"{SectionName}:BorrowerHmacKeyPath", "a file holding the base64 HMAC key for borrowers' personal data (at least 32 bytes)");
            keyPath = Path.Combine(host.DataDirectory, "kur", DevelopmentKeyFile);
            host.FirstStart.ReadOrCreate(keyPath, () => BorrowerFingerprint.NewKeyFileContent() + "\n");
        }
        else if (!File.Exists(keyPath))
        {
            throw new ConfigurationError($"{SectionName}:BorrowerHmacKeyPath", "an existing key file", keyPath);
        }

        var retryDelay = TimeSpan.FromSeconds(1);
        if (!string.IsNullOrWhiteSpace(section["RetryDelay"])
            && (!TimeSpan.TryParse(section["RetryDelay"], System.Globalization.CultureInfo.InvariantCulture, out retryDelay) || retryDelay <= TimeSpan.Zero))
            throw new ConfigurationError($"{SectionName}:RetryDelay", "a positive duration such as 00:00:01", section["RetryDelay"]);

        return new KurSettings { BorrowerHmacKeyPath = keyPath, RetryDelay = retryDelay, Files = host.FirstStart };
    }

    /// <summary>The hasher for <see cref="BorrowerHmacKeyPath"/>.</summary>
    /// <exception cref="ConfigurationError">The file holds no base64 key of at least 32 bytes.</exception>
    public BorrowerFingerprint LoadFingerprint() =>
        new(SecretFiles.ReadBase64Key(Files, BorrowerHmacKeyPath, $"{SectionName}:BorrowerHmacKeyPath", BorrowerFingerprint.MinimumKeyBytes));
}
