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

    /// <summary>Seals <paramref name="nik"/> for the holder of <paramref name="recipient"/>'s private key.</summary>
    public static SealedNik Seal(string nik, Guid eventId, ECDiffieHellman recipient, string recipientKeyId)
    {
        ArgumentNullException.ThrowIfNull(nik);
        ArgumentNullException.ThrowIfNull(recipient);
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = Point(ephemeral);
        var key = DeriveKey(ephemeral.DeriveRawSecretAgreement(recipient.PublicKey), point);
        var plaintext = Encoding.ASCII.GetBytes(nik);
        var envelope = new byte[1 + PointLength + NonceLength + TagLength + plaintext.Length];
        envelope[0] = Version;
        point.CopyTo(envelope, 1);
        var nonce = envelope.AsSpan(1 + PointLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key, TagLength))
        {
            aes.Encrypt(nonce, plaintext, envelope.AsSpan(1 + PointLength + NonceLength + TagLength), envelope.AsSpan(1 + PointLength + NonceLength, TagLength), AssociatedData(eventId, recipientKeyId));
        }

        CryptographicOperations.ZeroMemory(key);
        CryptographicOperations.ZeroMemory(plaintext);
        return new SealedNik(recipientKeyId, Convert.ToBase64String(envelope));
    }

    /// <summary>Opens a sealed NIK with the recipient's private key.</summary>
    /// <exception cref="SealedNikException">Not a version-1 envelope, or changed, or sealed to another key or event.</exception>
    public static string Open(SealedNik sealedNik, Guid eventId, ECDiffieHellman privateKey)
    {
        ArgumentNullException.ThrowIfNull(sealedNik);
        ArgumentNullException.ThrowIfNull(privateKey);
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

        var point = envelope.AsSpan(1, PointLength).ToArray();
        byte[] key;
        try
        {
            using var ephemeral = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
            key = DeriveKey(privateKey.DeriveRawSecretAgreement(ephemeral.PublicKey), point);
        }
        catch (CryptographicException)
        {
            throw new SealedNikException("the ephemeral key is not a P-256 point");
        }

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
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        return Encoding.ASCII.GetString(plaintext);
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

/// <summary>A sealed NIK that cannot be opened; the message never holds the NIK or the envelope.</summary>
public sealed class SealedNikException(string reason) : Exception($"Sealed NIK refused: {reason}.");
