using System.Security.Cryptography;
using System.Text;

namespace Verification.Platform.Privacy;

/// <summary>
/// How a module keeps the NIKs it must hold at rest: a keyed hash (HMAC-SHA-256) for lookups, joins and unique indexes,
/// and the NIK itself sealed with AES-256-GCM (the row's id as associated data, so a value moved to another row does not
/// open) for the owner's own lists. Both keys are derived from one module key (HKDF-SHA-256, info naming the module),
/// which never leaves the module. NonAsn's staff and Rentan's workers use it.
/// </summary>
public sealed class NikAtRestCipher
{
    public const int MinimumKeyBytes = 32;

    private const byte Version = 1;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private readonly byte[] _hashKey;
    private readonly byte[] _sealKey;
    private readonly string _rowKind;

    /// <param name="moduleKey">The module's key, at least <see cref="MinimumKeyBytes"/> bytes.</param>
    /// <param name="module">The module's name in the key derivation ("nonasn", "rentan"): fixed for a module's stored data.</param>
    /// <param name="rowKind">What a row is called in error messages ("employment").</param>
    public NikAtRestCipher(byte[] moduleKey, string module, string rowKind)
    {
        ArgumentNullException.ThrowIfNull(moduleKey);
        ArgumentException.ThrowIfNullOrEmpty(module);
        if (moduleKey.Length < MinimumKeyBytes) throw new ArgumentException($"The module key needs at least {MinimumKeyBytes} bytes.", nameof(moduleKey));
        _hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: Encoding.ASCII.GetBytes($"verification/{module}/nik-hash/v1"));
        _sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, moduleKey, 32, info: Encoding.ASCII.GetBytes($"verification/{module}/nik-seal/v1"));
        _rowKind = rowKind;
    }

    /// <summary>The lookup value stored in <c>nik_hash</c>: lowercase hex, 64 characters.</summary>
    public string Hash(string nikDigits) => Convert.ToHexStringLower(HMACSHA256.HashData(_hashKey, Encoding.ASCII.GetBytes(nikDigits)));

    /// <summary>The value stored in <c>nik_sealed</c>: base64 of version, nonce, tag and ciphertext, bound to <paramref name="rowId"/>.</summary>
    public string Seal(string nikDigits, string rowId)
    {
        var plaintext = Encoding.ASCII.GetBytes(nikDigits);
        var sealedBytes = new byte[1 + NonceLength + TagLength + plaintext.Length];
        sealedBytes[0] = Version;
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(1, NonceLength));
        using (var aes = new AesGcm(_sealKey, TagLength))
        {
            aes.Encrypt(sealedBytes.AsSpan(1, NonceLength), plaintext, sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), Encoding.UTF8.GetBytes(rowId));
        }

        return Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The NIK's digits from a sealed value.</summary>
    /// <exception cref="CryptographicException">The value was changed, moved from another row or sealed with another key; the message holds neither.</exception>
    public string Open(string sealedNik, string rowId)
    {
        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(sealedNik);
        }
        catch (FormatException)
        {
            throw new CryptographicException($"The stored NIK of {_rowKind} {rowId} is not a sealed value.");
        }

        if (sealedBytes.Length <= 1 + NonceLength + TagLength || sealedBytes[0] != Version)
            throw new CryptographicException($"The stored NIK of {_rowKind} {rowId} is not a version-1 sealed value.");
        var plaintext = new byte[sealedBytes.Length - 1 - NonceLength - TagLength];
        try
        {
            using var aes = new AesGcm(_sealKey, TagLength);
            aes.Decrypt(sealedBytes.AsSpan(1, NonceLength), sealedBytes.AsSpan(1 + NonceLength + TagLength), sealedBytes.AsSpan(1 + NonceLength, TagLength), plaintext, Encoding.UTF8.GetBytes(rowId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptographicException($"The stored NIK of {_rowKind} {rowId} does not open with this module's key (changed, moved or another key).");
        }

        return Encoding.ASCII.GetString(plaintext);
    }
}
