using System.Security.Cryptography;
using System.Text;

namespace Verification.Audit.Features.Keys;

/// <summary>
/// The keyed hash the log stores instead of a NIK: HMAC-SHA-256 under a key only the log holds, so the stored
/// hash cannot be reversed by hashing all 10^16 candidate NIKs, yet the log can still search by NIK.
/// </summary>
public sealed class NikHasher
{
    /// <summary>Shortest key accepted: the hash's own strength.</summary>
    public const int MinimumKeyBytes = 32;

    private readonly byte[] _key;

    public NikHasher(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumKeyBytes)
        {
            throw new ArgumentException($"The NIK key must be at least {MinimumKeyBytes} bytes.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>HMAC-SHA-256(key, UTF-8 of the NIK exactly as given).</summary>
    public byte[] Hash(string nik)
    {
        ArgumentNullException.ThrowIfNull(nik);
        return HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(nik));
    }

    /// <summary>A new random key, base64, as the key file holds it.</summary>
    public static string NewKeyFileContent() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinimumKeyBytes));
}
