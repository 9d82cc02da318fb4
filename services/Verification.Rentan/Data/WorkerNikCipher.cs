using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Verification.Platform.Hosting;

namespace Verification.Rentan.Data;

/// <summary>
/// How Rentan keeps the NIKs of extract rows and sponsorships at rest (issue 19's rule): a keyed hash (HMAC-SHA-256) for
/// lookups, joins and unique indexes, and the NIK itself sealed with AES-256-GCM (the row's id as associated data) for the
/// sponsor's own lists and reports. Both keys are derived from one module key (HKDF-SHA-256), which never leaves Rentan.
/// </summary>
public sealed class WorkerNikCipher
{
    public const int MinimumKeyBytes = 32;

    private const byte Version = 1;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private readonly byte[] _hashKey;
    private readonly byte[] _sealKey;

    public WorkerNikCipher(byte[] moduleKey)
    {
        ArgumentNullException.ThrowIfNull(moduleKey);
        if (moduleKey.Length < MinimumKeyBytes) throw new ArgumentException($"The module key needs at least {MinimumKeyBytes} bytes.", nameof(moduleKey));
        _hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: "verification/rentan/nik-hash/v1"u8.ToArray());
        _sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: "verification/rentan/nik-seal/v1"u8.ToArray());
    }

    /// <summary>The lookup value stored in <c>nik_hash</c>: lowercase hex, 64 characters.</summary>
    public string Hash(long nik) => Hash(Digits(nik));

    public string Hash(string nikDigits) => Convert.ToHexStringLower(HMACSHA256.HashData(_hashKey, Encoding.ASCII.GetBytes(nikDigits)));

    /// <summary>The value stored in <c>nik_sealed</c>: base64 of version, nonce, tag and ciphertext, bound to <paramref name="rowId"/>.</summary>
    public string Seal(long nik, string rowId)
    {
        var plaintext = Encoding.ASCII.GetBytes(Digits(nik));
        var sealedBytes = new byte[1 + NonceLength + TagLength + plaintext.Length];
        sealedBytes[0] = Version;
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(1, NonceLength));
        using (var aes = new AesGcm(_sealKey, TagLength))
        {
            aes.Encrypt(sealedBytes.AsSpan(1, NonceLength), plaintext, sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), Encoding.UTF8.GetBytes(rowId));
        }

        return Convert.ToBase64String(sealedBytes);
    }

    /// <exception cref="CryptographicException">The value was changed, moved from another row or sealed with another key; the message holds neither.</exception>
    public long Open(string sealedNik, string rowId)
    {
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(sealedNik);
        }
        catch (FormatException)
        {
            throw new CryptographicException($"The stored NIK of Rentan row {rowId} is not a sealed value.");
        }

        if (sealedBytes.Length <= 1 + NonceLength + TagLength || sealedBytes[0] != Version)
            throw new CryptographicException($"The stored NIK of Rentan row {rowId} is not a version-1 sealed value.");
        var plaintext = new byte[sealedBytes.Length - 1 - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(_sealKey, TagLength);
            aes.Decrypt(sealedBytes.AsSpan(1, NonceLength), sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), plaintext, Encoding.UTF8.GetBytes(rowId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicException($"The stored NIK of Rentan row {rowId} does not open with this module's key (changed, moved or another key).");
        }

        return long.Parse(plaintext, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>Fills the sponsorship's hash and sealed value from its NIK before it is written.</summary>
    public SponsorshipRecord Protect(SponsorshipRecord record)
    {
        record.NikHash = Hash(record.Nik);
        record.NikSealed = Seal(record.Nik, record.SponsorshipId);
        return record;
    }

    /// <summary>Fills the extract row's hash and sealed value from its NIK before it is written.</summary>
    public ExtractRowRecord Protect(ExtractRowRecord record)
    {
        record.NikHash = Hash(record.Nik);
        record.NikSealed = Seal(record.Nik, record.RowId);
        return record;
    }

    /// <summary>Fills the sponsorship's NIK from what was read.</summary>
    public SponsorshipRecord Reveal(SponsorshipRecord record)
    {
        record.Nik = Open(record.NikSealed, record.SponsorshipId);
        return record;
    }

    /// <summary>Fills the extract row's NIK from what was read.</summary>
    public ExtractRowRecord Reveal(ExtractRowRecord record)
    {
        record.Nik = Open(record.NikSealed, record.RowId);
        return record;
    }

    /// <summary>
    /// The module key from <c>Verification:Rentan:NikKeyPath</c>: required in microservices mode, created under
    /// <c>&lt;data&gt;/rentan</c> on first start in monolithic mode.
    /// </summary>
    /// <exception cref="ConfigurationError">A missing setting, file or key; the file's content is never echoed.</exception>
    public static WorkerNikCipher Load(string? configuredPath, VerificationHostContext host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var path = string.IsNullOrWhiteSpace(configuredPath) ? null : configuredPath;
        if (path is null)
        {
            if (host.Options.Mode != HostingMode.Monolithic)
                throw new ConfigurationError(RentanSettings.NikKeySetting, $"a file holding the base64 key (at least {MinimumKeyBytes} bytes) that encrypts workers' NIKs at rest");
            path = Path.Combine(host.DataDirectory, "rentan", "worker-nik.key");
            // Written with the other first-start files once every setting is checked (a refused start writes nothing).
            host.FirstStart.ReadOrCreate(path, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinimumKeyBytes)) + "\n");
        }

        if (!host.FirstStart.Exists(path)) throw new ConfigurationError(RentanSettings.NikKeySetting, "an existing key file", path);
        return new WorkerNikCipher(SecretFiles.ReadBase64Key(host.FirstStart, path, RentanSettings.NikKeySetting, MinimumKeyBytes));
    }

    private static string Digits(long nik) => nik.ToString("D16", CultureInfo.InvariantCulture);
}
