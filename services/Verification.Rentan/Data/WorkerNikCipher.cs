using System.Globalization;
using System.Security.Cryptography;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;

namespace Verification.Rentan.Data;

/// <summary>Rentan's extract rows' and sponsorships' NIKs at rest: keyed hash for lookups, joins and unique indexes, sealed value
/// (the row's id as associated data) for the sponsor's own lists and reports; the cipher is the platform's <see cref="NikAtRestCipher"/>.</summary>
public sealed class WorkerNikCipher
{
    public const int MinimumKeyBytes = NikAtRestCipher.MinimumKeyBytes;

    private readonly NikAtRestCipher _cipher;

    public WorkerNikCipher(byte[] moduleKey) => _cipher = new NikAtRestCipher(moduleKey, "rentan", "Rentan row");

    /// <summary>The lookup value stored in <c>nik_hash</c>: lowercase hex, 64 characters.</summary>
    public string Hash(long nik) => Hash(Digits(nik));

    /// <summary>The lookup value of a NIK given as its 16 digits.</summary>
    public string Hash(string nikDigits) => _cipher.Hash(nikDigits);

    /// <summary>The value stored in <c>nik_sealed</c>, bound to <paramref name="rowId"/>.</summary>
    public string Seal(long nik, string rowId) => _cipher.Seal(Digits(nik), rowId);

    /// <exception cref="CryptographicException">The value was changed, moved from another row or sealed with another key; the message holds neither.</exception>
    public long Open(string sealedNik, string rowId) => long.Parse(_cipher.Open(sealedNik, rowId), NumberStyles.None, CultureInfo.InvariantCulture);

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
