using System.Security.Cryptography;
using System.Text;
using Verification.Contracts.Events;

namespace Verification.Platform.Privacy;

/// <summary>
/// Hybrid encryption of a NIK to a recipient's P-256 key with what .NET ships: ephemeral ECDH, HKDF-SHA-256, AES-256-GCM,
/// the event id and key id as associated data, so a sealed NIK moved to another event or key does not open.
/// </summary>
/// <remarks>
/// Version 1 (<see cref="Seal"/>): one ephemeral key per envelope. Version 2 (<see cref="NikSealBatch"/>): one ephemeral
/// key and HKDF per batch of events written together, each NIK its own AES-GCM with a random nonce; the same layout, a
/// distinct HKDF label, so a version byte changed between the two does not open. Envelopes of one batch share their
/// ephemeral point: an observer learns they were sealed together, which their events' time and source say already.
/// </remarks>
public static class NikSeal
{
    public const byte Version = 1;

    /// <summary>The version of envelopes sealed by a <see cref="NikSealBatch"/>: the ephemeral key is shared by the batch.</summary>
    public const byte BatchVersion = 2;

    internal const int PointLength = 65;
    internal const int NonceLength = 12;
    internal const int TagLength = 16;
    internal const int HeaderLength = 1 + PointLength + NonceLength + TagLength;
    private static readonly byte[] Info = "verification/sealed-nik/v1"u8.ToArray();
    private static readonly byte[] BatchInfo = "verification/sealed-nik/v2"u8.ToArray();

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
        var (point, key) = Agree(recipient, Version);
        try
        {
            using var aes = new AesGcm(key, TagLength);
            return Envelope(Version, point, aes, nik, eventId, recipientKeyId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>A fresh ephemeral key agreed with <paramref name="recipient"/>: its point and the AES key derived for <paramref name="version"/>.</summary>
    internal static (byte[] Point, byte[] Key) Agree(ECDiffieHellman recipient, byte version)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var point = Point(ephemeral);
        return (point, DeriveKey(ephemeral.DeriveRawSecretAgreement(recipient.PublicKey), point, version));
    }

    /// <summary>One envelope: version, point, a random nonce, tag and ciphertext of the NIK bound to the event and key id.</summary>
    internal static SealedNik Envelope(byte version, byte[] point, AesGcm aes, string nik, Guid eventId, string recipientKeyId)
    {
        var plaintext = Encoding.ASCII.GetBytes(nik);
        var envelope = new byte[HeaderLength + plaintext.Length];
        envelope[0] = version;
        point.CopyTo(envelope, 1);
        var nonce = envelope.AsSpan(1 + PointLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plaintext, envelope.AsSpan(HeaderLength), envelope.AsSpan(1 + PointLength + NonceLength, TagLength), AssociatedData(eventId, recipientKeyId));
        CryptographicOperations.ZeroMemory(plaintext);
        return new SealedNik(recipientKeyId, Convert.ToBase64String(envelope));
    }

    /// <summary>Opens a sealed NIK (version 1 or 2) with the recipient's private key.</summary>
    /// <exception cref="SealedNikException">Not a version-1 or version-2 envelope, or changed, or sealed to another key or event.</exception>
    public static string Open(SealedNik sealedNik, Guid eventId, ECDiffieHellman privateKey) => Open(sealedNik, eventId, privateKey, batchKeys: null);

    /// <summary>As <see cref="Open(SealedNik, Guid, ECDiffieHellman)"/>; a version-2 envelope's key is taken from (and kept in) <paramref name="batchKeys"/>.</summary>
    internal static string Open(SealedNik sealedNik, Guid eventId, ECDiffieHellman privateKey, BatchKeys? batchKeys)
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

        if (envelope.Length <= HeaderLength || envelope[0] is not (Version or BatchVersion))
        {
            throw new SealedNikException("the envelope is not a version-1 or version-2 sealed NIK");
        }

        var version = envelope[0];
        var point = envelope.AsSpan(1, PointLength).ToArray();
        // A batch's key serves every envelope of the batch: one key agreement opens them all.
        var kept = version == BatchVersion && batchKeys is not null;
        var key = kept ? batchKeys!.GetOrDerive(point, () => Derive(privateKey, point, version)) : Derive(privateKey, point, version);
        var ciphertext = envelope.AsSpan(HeaderLength);
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
            if (!kept) CryptographicOperations.ZeroMemory(key);
        }

        return Encoding.ASCII.GetString(plaintext);
    }

    /// <exception cref="SealedNikException">The point is not on P-256.</exception>
    private static byte[] Derive(ECDiffieHellman privateKey, byte[] point, byte version)
    {
        try
        {
            using var ephemeral = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
            return DeriveKey(privateKey.DeriveRawSecretAgreement(ephemeral.PublicKey), point, version);
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
    private static byte[] DeriveKey(byte[] sharedSecret, byte[] point, byte version)
    {
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, sharedSecret, 32, point, version == BatchVersion ? BatchInfo : Info);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    private static byte[] AssociatedData(Guid eventId, string keyId) => [.. eventId.ToByteArray(bigEndian: true), .. Encoding.ASCII.GetBytes(keyId)];
}

/// <summary>
/// Seals the NIKs of events written together (one chunk of an enrolment list) with one ephemeral key: one key agreement
/// and HKDF for the batch instead of one per event (docs/benchmarks.md, "Rentan"). The ephemeral private key is gone once
/// the batch's AES key is derived; disposing the batch erases that key. Not for more than <see cref="MaxEnvelopes"/> NIKs
/// (random 96-bit nonces under one key stay far from a collision).
/// </summary>
public sealed class NikSealBatch : IDisposable
{
    /// <summary>Most envelopes one batch seals.</summary>
    public const int MaxEnvelopes = 1 << 20;

    private readonly ECDiffieHellman _recipient;
    private readonly string _keyId;
    private readonly Lock _gate = new();
    private byte[]? _point;
    private byte[]? _key;
    private AesGcm? _aes;
    private int _sealed;
    private bool _disposed;

    internal NikSealBatch(ECDiffieHellman recipient, string keyId)
    {
        _recipient = recipient;
        _keyId = keyId;
    }

    /// <summary>Seals <paramref name="nik"/> for the event <paramref name="eventId"/>; the key is agreed on the first call, so an unused batch costs nothing.</summary>
    public SealedNik Seal(string nik, Guid eventId)
    {
        ArgumentNullException.ThrowIfNull(nik);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (++_sealed > MaxEnvelopes) throw new InvalidOperationException($"A NIK seal batch seals at most {MaxEnvelopes} envelopes.");
            if (_aes is null)
            {
                (_point, _key) = NikSeal.Agree(_recipient, NikSeal.BatchVersion);
                _aes = new AesGcm(_key, NikSeal.TagLength);
            }

            return NikSeal.Envelope(NikSeal.BatchVersion, _point!, _aes, nik, eventId, _keyId);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _aes?.Dispose();
            if (_key is not null) CryptographicOperations.ZeroMemory(_key);
        }
    }
}

/// <summary>The opener's keys of version-2 batches by ephemeral point, bounded: a batch's envelopes arrive close together.</summary>
internal sealed class BatchKeys : IDisposable
{
    /// <summary>Batches remembered at once; past it the oldest is forgotten (a later envelope of it derives its key again).</summary>
    public const int Capacity = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public byte[] GetOrDerive(byte[] point, Func<byte[]> derive)
    {
        var id = Convert.ToHexString(point);
        lock (_gate)
        {
            if (_keys.TryGetValue(id, out var known)) return known;
        }

        // Derived outside the lock: a point that is no P-256 point throws and is never kept.
        var key = derive();
        lock (_gate)
        {
            if (_keys.TryGetValue(id, out var raced))
            {
                CryptographicOperations.ZeroMemory(key);
                return raced;
            }

            while (_keys.Count >= Capacity)
            {
                // A key forgotten here may still be in use by an open in flight: it is dropped, not erased.
                _keys.Remove(_order.Dequeue());
            }

            _keys[id] = key;
            _order.Enqueue(id);
            return key;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var key in _keys.Values) CryptographicOperations.ZeroMemory(key);
            _keys.Clear();
            _order.Clear();
        }
    }
}

/// <summary>A sealed NIK that cannot be opened; the message never holds the NIK or the envelope.</summary>
public sealed class SealedNikException(string reason) : Exception($"Sealed NIK refused: {reason}.");
