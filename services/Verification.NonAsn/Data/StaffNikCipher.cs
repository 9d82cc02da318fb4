using System.Security.Cryptography;
using System.Text;
using Verification.Platform.Hosting;

namespace Verification.NonAsn.Data;

/// <summary>
/// How NonAsn keeps its staff's NIKs at rest: a keyed hash (HMAC-SHA-256) for lookups and the registration key's index,
/// and the NIK itself sealed with AES-256-GCM (the employment id as associated data) for the employer's own lists and
/// statements. Both keys are derived from one module key (HKDF-SHA-256), which never leaves this module.
/// </summary>
public sealed class StaffNikCipher
{
    public const int MinimumKeyBytes = 32;

    private const byte Version = 1;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private readonly byte[] hashKey;
    private readonly byte[] sealKey;

    public StaffNikCipher(byte[] moduleKey)
    {
        ArgumentNullException.ThrowIfNull(moduleKey);
        if (moduleKey.Length < MinimumKeyBytes) throw new ArgumentException($"The module key needs at least {MinimumKeyBytes} bytes.", nameof(moduleKey));
        hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: "verification/nonasn/nik-hash/v1"u8.ToArray());
        sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: "verification/nonasn/nik-seal/v1"u8.ToArray());
    }

    /// <summary>The lookup value stored in <c>nik_hash</c>: lowercase hex, 64 characters.</summary>
    public string Hash(string nik) => Convert.ToHexStringLower(HMACSHA256.HashData(hashKey, Encoding.ASCII.GetBytes(nik)));

    /// <summary>The value stored in <c>nik_sealed</c>: base64 of version, nonce, tag and ciphertext.</summary>
    public string Seal(string nik, string employmentId)
    {
        var plaintext = Encoding.ASCII.GetBytes(nik);
        var sealedBytes = new byte[1 + NonceLength + TagLength + plaintext.Length];
        sealedBytes[0] = Version;
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(1, NonceLength));
        using (var aes = new AesGcm(sealKey, TagLength))
        {
            aes.Encrypt(sealedBytes.AsSpan(1, NonceLength), plaintext, sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), Encoding.UTF8.GetBytes(employmentId));
        }

        return Convert.ToBase64String(sealedBytes);
    }

    /// <exception cref="CryptographicException">The value was changed, moved from another employment or sealed with another key; the message holds neither.</exception>
    public string Open(string sealedNik, string employmentId)
    {
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(sealedNik);
        }
        catch (FormatException)
        {
            throw new CryptographicException($"The stored NIK of employment {employmentId} is not a sealed value.");
        }

        if (sealedBytes.Length <= 1 + NonceLength + TagLength || sealedBytes[0] != Version)
            throw new CryptographicException($"The stored NIK of employment {employmentId} is not a version-1 sealed value.");
        var plaintext = new byte[sealedBytes.Length - 1 - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(sealKey, TagLength);
            aes.Decrypt(sealedBytes.AsSpan(1, NonceLength), sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), plaintext, Encoding.UTF8.GetBytes(employmentId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicException($"The stored NIK of employment {employmentId} does not open with this module's key (changed, moved or another key).");
        }

        return Encoding.ASCII.GetString(plaintext);
    }

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
