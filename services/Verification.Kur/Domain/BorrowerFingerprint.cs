using System.Security.Cryptography;
using System.Text;

namespace Verification.Kur.Domain;

/// <summary>
/// Keyed hashes of a borrower's personal fields (NIK, name, date of birth): a retry can be compared field by field
/// with the first request, while the record keeps no more than the masked NIK. Keyed (HMAC-SHA-256), because next to
/// the masked NIK only about 3.6 million NIKs remain and a plain hash of each would be reversed in seconds.
/// </summary>
public sealed class BorrowerFingerprint
{
    /// <summary>Shortest key accepted: the hash's own strength.</summary>
    public const int MinimumKeyBytes = 32;

    private readonly byte[] _key;

    public BorrowerFingerprint(ReadOnlySpan<byte> key)
    {
        if (key.Length < MinimumKeyBytes) throw new ArgumentException($"The borrower key must be at least {MinimumKeyBytes} bytes.", nameof(key));
        _key = key.ToArray();
    }

    /// <summary>HMAC-SHA-256 of the field's path and value, so equal values of different fields never share a hash.</summary>
    public byte[] Of(string field, string value) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(field + "\n" + value));

    /// <summary>A new random key, base64, as the key file holds it.</summary>
    public static string NewKeyFileContent() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinimumKeyBytes));
}
