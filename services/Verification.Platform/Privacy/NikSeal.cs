using System.Security.Cryptography;
using System.Text;
using Verification.Contracts.Events;

namespace Verification.Platform.Privacy;

/// <summary>
/// Hybrid encryption of a NIK to a recipient's P-256 key with what .NET ships: ephemeral ECDH, HKDF-SHA-256, AES-256-GCM,
/// the event id and key id as associated data, so a sealed NIK moved to another event or key does not open.
/// </summary>
public static class NikSeal
{
    public const byte Version = 1;

    private const int PointLength = 65;
    private const int NonceLength = 12;
    private const int TagLength = 16;
    private static readonly byte[] Info = "verification/sealed-nik/v1"u8.ToArray();

    /// <summary>The key id of a public key: lowercase hex SHA-256 of its SubjectPublicKeyInfo DER.</summary>
    public static string KeyId(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>Seals <paramref name="nik"/> for the holder of <paramref name="recipient"/>'s private key, with an ephemeral key of its own.</summary>
    public static SealedNik Seal(string nik, Guid eventId, ECDiffieHellman recipient, string recipientKeyId)
    {
        var agreement = Agree(recipient);
        try
        {
            return Seal(nik, eventId, agreement, recipientKeyId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(agreement.Key);
        }
    }

    /// <summary>A fresh ephemeral key's agreement with <paramref name="recipient"/>: the point every envelope sealed with it carries, and the AES key.</summary>
    public static EphemeralAgreement Agree(ECDiffieHellman recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = Point(ephemeral);
        return new EphemeralAgreement(point, DeriveKey(ephemeral.DeriveRawSecretAgreement(recipient.PublicKey), point));
    }

    /// <summary>Seals <paramref name="nik"/> under an agreement made before: AES-GCM with a random nonce, the same envelope as a fresh key gives.</summary>
    public static SealedNik Seal(string nik, Guid eventId, EphemeralAgreement agreement, string recipientKeyId)
    {
        ArgumentNullException.ThrowIfNull(nik);
        ArgumentNullException.ThrowIfNull(agreement);
        var plaintext = Encoding.ASCII.GetBytes(nik);
        var envelope = new byte[1 + PointLength + NonceLength + TagLength + plaintext.Length];
        envelope[0] = Version;
        agreement.Point.CopyTo(envelope, 1);
        var nonce = envelope.AsSpan(1 + PointLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(agreement.Key, TagLength))
        {
            aes.Encrypt(nonce, plaintext, envelope.AsSpan(1 + PointLength + NonceLength + TagLength), envelope.AsSpan(1 + PointLength + NonceLength, TagLength), AssociatedData(eventId, recipientKeyId));
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return new SealedNik(recipientKeyId, Convert.ToBase64String(envelope));
    }

    /// <summary>Opens a sealed NIK with the recipient's private key.</summary>
    /// <exception cref="SealedNikException">Not a version-1 envelope, or changed, or sealed to another key or event.</exception>
    public static string Open(SealedNik sealedNik, Guid eventId, ECDiffieHellman privateKey)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        byte[]? key = null;
        try
        {
            return Open(sealedNik, eventId, point => key = KeyFor(privateKey, point));
        }
        finally
        {
            if (key is not null) CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Opens a sealed NIK with the AES key <paramref name="keyFor"/> gives for the envelope's ephemeral point (see <see cref="KeyFor"/>).</summary>
    /// <exception cref="SealedNikException">Not a version-1 envelope, or changed, or sealed to another key or event.</exception>
    public static string Open(SealedNik sealedNik, Guid eventId, Func<byte[], byte[]> keyFor)
    {
        ArgumentNullException.ThrowIfNull(sealedNik);
        ArgumentNullException.ThrowIfNull(keyFor);
        byte[] envelope;
        try
        {
            envelope = Convert.FromBase64String(sealedNik.Envelope);
        }
        catch (FormatException)
        {
            throw new SealedNikException("the envelope is not base64");
        }

        if (envelope.Length <= 1 + PointLength + NonceLength + TagLength || envelope[0] != Version)
        {
            throw new SealedNikException("the envelope is not a version-1 sealed NIK");
        }

        var key = keyFor(envelope.AsSpan(1, PointLength).ToArray());
        var ciphertext = envelope.AsSpan(1 + PointLength + NonceLength + TagLength);
        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var aes = new AesGcm(key, TagLength);
            aes.Decrypt(envelope.AsSpan(1 + PointLength, NonceLength), ciphertext, envelope.AsSpan(1 + PointLength + NonceLength, TagLength), plaintext, AssociatedData(eventId, sealedNik.KeyId));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SealedNikException("the envelope does not authenticate (changed, or sealed to another key or event)");
        }

        return Encoding.ASCII.GetString(plaintext);
    }

    /// <summary>The AES key for an envelope whose ephemeral point is <paramref name="point"/>, from the recipient's private key.</summary>
    /// <exception cref="SealedNikException">The point is not on P-256.</exception>
    public static byte[] KeyFor(ECDiffieHellman privateKey, byte[] point)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        ArgumentNullException.ThrowIfNull(point);
        if (point.Length != PointLength || point[0] != 0x04) throw new SealedNikException("the ephemeral key is not a P-256 point");
        try
        {
            using var ephemeral = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
            return DeriveKey(privateKey.DeriveRawSecretAgreement(ephemeral.PublicKey), point);
        }
        catch (CryptographicException)
        {
            throw new SealedNikException("the ephemeral key is not a P-256 point");
        }
    }

    private static byte[] Point(ECDiffieHellman key)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return [0x04, .. parameters.Q.X!, .. parameters.Q.Y!];
    }

    // The ephemeral point is the salt, so the key is bound to this envelope as well as to the shared secret.
    private static byte[] DeriveKey(byte[] sharedSecret, byte[] point)
    {
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, 32, point, Info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    private static byte[] AssociatedData(Guid eventId, string keyId) => [.. eventId.ToByteArray(bigEndian: true), .. Encoding.ASCII.GetBytes(keyId)];
}

/// <summary>An ephemeral key's uncompressed point and the AES-256 key derived from its agreement with the recipient.</summary>
public sealed record EphemeralAgreement(byte[] Point, byte[] Key);

/// <summary>A sealed NIK that cannot be opened; the message never holds the NIK or the envelope.</summary>
public sealed class SealedNikException(string reason) : Exception($"Sealed NIK refused: {reason}.");
