using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Verification.Audit.Verifier;

/// <summary>
/// A witness's cosignature of a signed tree head: the witness (an auditor holding its own P-256 key) has checked that the
/// head is consistent with every head of this log it saw before. With cosignatures required, a rollback or a split view
/// needs the witnesses' keys too, not only the log's. The witness signs, with ECDSA P-256 / SHA-256 (DER), 106 bytes:
/// <code>
/// offset length field
///      0     28 context: the ASCII text "verification-audit/cosig/v1" followed by one 0x00 byte
///     28      8 tree size, big-endian
///     36      8 timestamp in milliseconds, big-endian
///     44     32 root hash
///     76     32 the log's key id (SHA-256 of its public key's SubjectPublicKeyInfo DER): which log the head is of
/// </code>
/// </summary>
public static class Cosignature
{
    public const int EncodedLength = 28 + 8 + 8 + Rfc6962.HashSize + 32;

    public static ReadOnlySpan<byte> Context => "verification-audit/cosig/v1\0"u8;

    public static byte[] Encode(TreeHead head, ReadOnlySpan<byte> logKeyId)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (logKeyId.Length != 32) throw new ArgumentException("A key id is the 32-byte SHA-256 of a public key.", nameof(logKeyId));
        var bytes = new byte[EncodedLength];
        Context.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(28), (ulong)head.TreeSize);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(36), (ulong)head.TimestampMilliseconds);
        head.RootHash.CopyTo(bytes.AsSpan(44));
        logKeyId.CopyTo(bytes.AsSpan(76));
        return bytes;
    }

    /// <summary>The key id of a SubjectPublicKeyInfo PEM: lowercase hex SHA-256 of its DER.</summary>
    public static string KeyId(string publicKeyPem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(publicKeyPem);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    public static byte[] Sign(ECDsa witnessKey, TreeHead head, string logKeyId)
    {
        ArgumentNullException.ThrowIfNull(witnessKey);
        return witnessKey.SignData(Encode(head, Convert.FromHexString(logKeyId)), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>True when <paramref name="signature"/> is the witness's valid cosignature of <paramref name="head"/> of the log <paramref name="logKeyId"/>.</summary>
    public static bool Verify(string witnessPublicKeyPem, TreeHead head, string logKeyId, ReadOnlySpan<byte> signature)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(witnessPublicKeyPem);
            P256.Require(key, nameof(witnessPublicKeyPem));
            return logKeyId.Length == 64 && key.VerifyData(Encode(head, Convert.FromHexString(logKeyId)), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or FormatException)
        {
            return false;
        }
    }
}
