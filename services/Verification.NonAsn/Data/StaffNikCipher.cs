using System.Security.Cryptography;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;

namespace Verification.NonAsn.Data;

/// <summary>NonAsn's staff NIKs at rest: keyed hash for lookups and the registration key's index, sealed value (the employment id as
/// associated data) for the employer's own lists and statements; the cipher is the platform's <see cref="NikAtRestCipher"/>.</summary>
public sealed class StaffNikCipher
{
    public const int MinimumKeyBytes = NikAtRestCipher.MinimumKeyBytes;

    private readonly NikAtRestCipher _cipher;

    public StaffNikCipher(byte[] moduleKey) => _cipher = new NikAtRestCipher(moduleKey, "nonasn", "employment");

    /// <summary>The lookup value stored in <c>nik_hash</c>: lowercase hex, 64 characters.</summary>
    public string Hash(string nik) => _cipher.Hash(nik);

    /// <summary>The value stored in <c>nik_sealed</c>, bound to the employment.</summary>
    public string Seal(string nik, string employmentId) => _cipher.Seal(nik, employmentId);

    /// <exception cref="CryptographicException">The value was changed, moved from another employment or sealed with another key; the message holds neither.</exception>
    public string Open(string sealedNik, string employmentId) => _cipher.Open(sealedNik, employmentId);

    /// <summary>Fills <see cref="EmploymentRecord.NikHash"/> and <see cref="EmploymentRecord.NikSealed"/> from the record's NIK before it is written.</summary>
    public void Protect(EmploymentRecord record)
    {
        record.NikHash = Hash(record.Nik);
        record.NikSealed = Seal(record.Nik, record.EmploymentId);
    }

    /// <summary>Fills <see cref="EmploymentRecord.Nik"/> from what was read.</summary>
    public EmploymentRecord Reveal(EmploymentRecord record)
    {
        record.Nik = Open(record.NikSealed, record.EmploymentId);
        return record;
    }

    /// <summary>
    /// The module key from <c>Verification:NonAsn:NikKeyPath</c>: required in microservices mode (and outside the data
    /// directory there), created under <c>&lt;data&gt;/nonasn</c> on first start in monolithic mode.
    /// </summary>
    /// <exception cref="ConfigurationError">A missing setting, file or key; the file's content is never echoed.</exception>
    public static StaffNikCipher Load(string? configuredPath, VerificationHostContext host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var path = string.IsNullOrWhiteSpace(configuredPath) ? null : configuredPath;
        if (path is null)
        {
            if (host.Options.Mode != HostingMode.Monolithic)
                throw new ConfigurationError(NonAsnSettings.NikKeySetting, $"a file holding the base64 key (at least {MinimumKeyBytes} bytes) that encrypts staff NIKs at rest");
            path = Path.Combine(host.DataDirectory, "nonasn", "staff-nik.key");
            // Written with the other first-start files once every setting is checked (a refused start writes nothing).
            host.FirstStart.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinimumKeyBytes)) + "\n");
        }

        if (!host.FirstStart.Exists(path)) throw new ConfigurationError(NonAsnSettings.NikKeySetting, "an existing key file", path);
        return new StaffNikCipher(SecretFiles.ReadBase64Key(host.FirstStart, path, NonAsnSettings.NikKeySetting, MinimumKeyBytes));
    }
}
