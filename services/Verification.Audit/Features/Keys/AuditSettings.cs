using Microsoft.Extensions.Configuration;
using Verification.Audit.Verifier;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;

namespace Verification.Audit.Features.Keys;

/// <summary>The audit module's settings, from <c>Verification:Audit</c>, validated at start-up.</summary>
public sealed record AuditSettings
{
    public const string SectionName = "Verification:Audit";

    /// <summary>PEM private key (P-256) that signs tree heads. Monolithic mode creates one under the data directory.</summary>
    public required string SigningKeyPath { get; init; }

    /// <summary>File holding the base64 HMAC key for NIKs (at least 32 bytes). Monolithic mode creates one.</summary>
    public required string NikHmacKeyPath { get; init; }

    /// <summary>
    /// PEM private keys (P-256) that open the NIKs events carry sealed; the first is the current one, whose public key the
    /// publishers are given; the others are kept after a rotation to open events sealed before it. Monolithic mode creates one.
    /// </summary>
    public required IReadOnlyList<string> NikSealingKeyPaths { get; init; }

    /// <summary>A new tree head is signed once this long has passed since the last one and entries are unsigned.</summary>
    public TimeSpan TreeHeadInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>…or as soon as this many entries are unsigned, whichever comes first.</summary>
    public int TreeHeadEntries { get; init; } = 1000;

    /// <summary>Pending events appended per transaction.</summary>
    public int AppendBatchSize { get; init; } = 2000;

    /// <summary>How often the appender looks for events inserted by other processes (in-process inserts wake it at once).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the writer's lease lasts unrenewed: a killed writer's replica is replaced after at most this long.</summary>
    public TimeSpan WriterLease { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the whole log is recomputed and compared with what is stored (also at start).</summary>
    public TimeSpan IntegrityCheckInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Where the newest published head is kept outside the database (default: beside the signing key).</summary>
    public required string PublishedHeadPath { get; init; }

    /// <summary>Where a first start's development keys wait to be written (read from there until they are).</summary>
    private FirstStartFiles? Files { get; init; }

    /// <summary>Reads and checks the settings; in monolithic mode creates the development keys on first start.</summary>
    /// <exception cref="ConfigurationError">A missing or malformed setting, named by its key.</exception>
    public static AuditSettings Read(IConfiguration configuration, VerificationHostContext host)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(host);
        var section = configuration.GetSection(SectionName);
        var development = host.Options.Mode == HostingMode.Monolithic;
        var developmentDirectory = Path.Combine(host.DataDirectory, "audit");

        var signingKeyPath = Value(section, "SigningKeyPath");
        if (signingKeyPath is null)
        {
            if (!development)
            {
                throw new ConfigurationError($"{SectionName}:SigningKeyPath", "a PEM file holding the P-256 private key that signs tree heads");
            }

            signingKeyPath = Path.Combine(developmentDirectory, AuditKeys.DevelopmentSigningKeyFile);
            AuditKeys.EnsureDevelopmentSigningKey(signingKeyPath, host.FirstStart);
        }
        else if (!File.Exists(signingKeyPath))
        {
            throw new ConfigurationError($"{SectionName}:SigningKeyPath", "an existing PEM file", signingKeyPath);
        }
        else if (!development && SecretFiles.IsInside(signingKeyPath, host.DataDirectory))
        {
            // Whoever can copy or roll back the data could then also re-sign it: the key is a secret mounted from elsewhere.
            throw new ConfigurationError($"{SectionName}:SigningKeyPath", $"a key file outside the data directory {host.DataDirectory} (a mounted secret)", signingKeyPath);
        }

        var nikKeyPath = Value(section, "NikHmacKeyPath");
        if (nikKeyPath is null)
        {
            if (!development)
            {
                throw new ConfigurationError($"{SectionName}:NikHmacKeyPath", "a file holding the base64 HMAC key for NIKs (at least 32 bytes)");
            }

            nikKeyPath = Path.Combine(developmentDirectory, AuditKeys.DevelopmentNikKeyFile);
            AuditKeys.EnsureDevelopmentNikKey(nikKeyPath, host.FirstStart);
        }
        else if (!File.Exists(nikKeyPath))
        {
            throw new ConfigurationError($"{SectionName}:NikHmacKeyPath", "an existing key file", nikKeyPath);
        }

        var sealingKeyPaths = section.GetSection("NikSealingKeyPaths").GetChildren().Select(c => c.Value).OfType<string>()
            .Where(v => !string.IsNullOrWhiteSpace(v)).ToList();
        if (sealingKeyPaths.Count == 0)
        {
            if (!development)
            {
                throw new ConfigurationError($"{SectionName}:NikSealingKeyPaths:0", "a PEM file holding the P-256 private key that opens the NIKs sealed in events");
            }

            sealingKeyPaths.Add(NikSealing.EnsureDevelopmentKeys(host.DataDirectory, host.FirstStart).PrivateKeyPath);
        }

        foreach (var (path, i) in sealingKeyPaths.Select((p, i) => (p, i)))
        {
            if (!host.FirstStart.Exists(path))
            {
                throw new ConfigurationError($"{SectionName}:NikSealingKeyPaths:{i}", "an existing PEM file", path);
            }

            if (!development && SecretFiles.IsInside(path, host.DataDirectory))
            {
                throw new ConfigurationError($"{SectionName}:NikSealingKeyPaths:{i}", $"a key file outside the data directory {host.DataDirectory} (a mounted secret)", path);
            }
        }

        return new AuditSettings
        {
            SigningKeyPath = signingKeyPath,
            NikHmacKeyPath = nikKeyPath,
            NikSealingKeyPaths = sealingKeyPaths,
            TreeHeadInterval = Duration(section, "TreeHeadInterval", TimeSpan.FromSeconds(5)),
            TreeHeadEntries = Integer(section, "TreeHeadEntries", 1000, 1, 10_000_000),
            AppendBatchSize = Integer(section, "AppendBatchSize", 2000, 1, 50_000),
            PollInterval = Duration(section, "PollInterval", TimeSpan.FromMilliseconds(250)),
            IntegrityCheckInterval = Duration(section, "IntegrityCheckInterval", TimeSpan.FromHours(1)),
            WriterLease = Duration(section, "WriterLease", TimeSpan.FromSeconds(10)),
            Files = host.FirstStart,
            PublishedHeadPath = Value(section, "PublishedHeadPath") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(signingKeyPath))!, "published-head.json"),
        };
    }

    /// <summary>The signer for <see cref="SigningKeyPath"/>.</summary>
    /// <exception cref="ConfigurationError">The file holds no P-256 private key.</exception>
    public TreeHeadSigner LoadSigner()
    {
        try
        {
            return TreeHeadSigner.FromPrivateKeyPem(Files?.ReadAllText(SigningKeyPath) ?? File.ReadAllText(SigningKeyPath));
        }
        catch (ArgumentException)
        {
            // The key file's content is secret: name the file, never echo what is in it.
            throw new ConfigurationError($"{SectionName}:SigningKeyPath", "a PEM file holding a P-256 (PRIVATE KEY or EC PRIVATE KEY) private key", SigningKeyPath);
        }
    }

    /// <summary>The NIK hasher for <see cref="NikHmacKeyPath"/>.</summary>
    /// <exception cref="ConfigurationError">The file holds no base64 key of at least 32 bytes.</exception>
    public NikHasher LoadNikHasher() =>
        new(SecretFiles.ReadBase64Key(Files, NikHmacKeyPath, $"{SectionName}:NikHmacKeyPath", NikHasher.MinimumKeyBytes));

    /// <summary>The opener for <see cref="NikSealingKeyPaths"/>.</summary>
    /// <exception cref="ConfigurationError">A file that holds no P-256 private key, named by its setting.</exception>
    public NikOpener LoadNikOpener()
    {
        var keys = new List<System.Security.Cryptography.ECDiffieHellman>();
        try
        {
            for (var i = 0; i < NikSealingKeyPaths.Count; i++)
            {
                var setting = $"{SectionName}:NikSealingKeyPaths:{i}";
                keys.Add(Files is { } files && files.Exists(NikSealingKeyPaths[i])
                    ? NikSealing.PrivateKeyFromPem(files.ReadAllText(NikSealingKeyPaths[i]), NikSealingKeyPaths[i], setting)
                    : NikSealing.ReadPrivateKey(NikSealingKeyPaths[i], setting));
            }
        }
        catch
        {
            foreach (var key in keys) key.Dispose();
            throw;
        }

        return new NikOpener(keys);
    }

    private static string? Value(IConfigurationSection section, string key) => string.IsNullOrWhiteSpace(section[key]) ? null : section[key];

    private static int Integer(IConfigurationSection section, string key, int fallback, int min, int max)
    {
        var value = Value(section, key);
        if (value is null)
        {
            return fallback;
        }

        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max)
        {
            return parsed;
        }

        throw new ConfigurationError($"{SectionName}:{key}", $"a whole number from {min} to {max}", value);
    }

    private static TimeSpan Duration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var value = Value(section, key);
        if (value is null)
        {
            return fallback;
        }

        if (TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed > TimeSpan.Zero)
        {
            return parsed;
        }

        throw new ConfigurationError($"{SectionName}:{key}", "a positive duration such as 00:00:05", value);
    }
}
