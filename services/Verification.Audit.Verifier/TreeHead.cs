using System.Buffers.Binary;

namespace Verification.Audit.Verifier;

/// <summary>
/// A tree head: the size of the log, when the head was made, and the root hash. <see cref="Encode"/> is
/// the exact byte string a signature covers.
/// </summary>
/// <remarks>
/// The canonical encoding is 74 bytes, every field fixed-width, integers big-endian:
/// <code>
/// offset length field
///      0     26 context: the ASCII text "verification-audit/sth/v1" followed by one 0x00 byte
///     26      8 tree size: unsigned 64-bit, number of leaves
///     34      8 timestamp: unsigned 64-bit, milliseconds since 1970-01-01T00:00:00Z
///     42     32 root hash: RFC 6962 SHA-256 Merkle tree hash of the first tree-size leaves
/// </code>
/// The context string keeps a signature over a tree head from being valid for anything else signed
/// with the same key, and names the version so the layout can change without ambiguity. Timestamps are
/// kept to whole milliseconds (finer precision is truncated) so that encoding and decoding round-trip.
/// </remarks>
public sealed class TreeHead : IEquatable<TreeHead>
{
    /// <summary>Length of <see cref="Encode"/>'s output.</summary>
    public const int EncodedLength = 26 + 8 + 8 + Rfc6962.HashSize;

    private readonly byte[] _rootHash;

    public TreeHead(long treeSize, DateTimeOffset timestamp, ReadOnlySpan<byte> rootHash)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(timestamp, DateTimeOffset.UnixEpoch);
        if (rootHash.Length != Rfc6962.HashSize)
        {
            throw new ArgumentException($"A root hash is {Rfc6962.HashSize} bytes.", nameof(rootHash));
        }

        TreeSize = treeSize;
        TimestampMilliseconds = timestamp.ToUnixTimeMilliseconds();
        _rootHash = rootHash.ToArray();
    }

    /// <summary>The domain-separation prefix of the encoding.</summary>
    public static ReadOnlySpan<byte> Context => "verification-audit/sth/v1\0"u8;

    public long TreeSize { get; }

    /// <summary>Milliseconds since the Unix epoch, as encoded.</summary>
    public long TimestampMilliseconds { get; }

    /// <summary>The timestamp as a UTC instant.</summary>
    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(TimestampMilliseconds);

    public ReadOnlySpan<byte> RootHash => _rootHash;

    /// <summary>The canonical 74-byte encoding that is signed.</summary>
    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength];
        Context.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(26), (ulong)TreeSize);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(34), (ulong)TimestampMilliseconds);
        _rootHash.CopyTo(bytes, 42);
        return bytes;
    }

    /// <summary>Reads the canonical encoding back.</summary>
    /// <exception cref="FormatException">Wrong length, wrong context, or a size or timestamp beyond 2^63 − 1.</exception>
    public static TreeHead Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != EncodedLength || !encoded[..26].SequenceEqual(Context))
        {
            throw new FormatException("Not a version 1 verification-audit tree head.");
        }

        var treeSize = BinaryPrimitives.ReadUInt64BigEndian(encoded[26..]);
        var timestamp = BinaryPrimitives.ReadUInt64BigEndian(encoded[34..]);
        if (treeSize > long.MaxValue || timestamp > (ulong)DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            throw new FormatException("The tree size or timestamp of the tree head is out of range.");
        }

        return new TreeHead((long)treeSize, DateTimeOffset.FromUnixTimeMilliseconds((long)timestamp), encoded[42..]);
    }

    public bool Equals(TreeHead? other) =>
        other is not null
        && TreeSize == other.TreeSize
        && TimestampMilliseconds == other.TimestampMilliseconds
        && _rootHash.AsSpan().SequenceEqual(other._rootHash);

    public override bool Equals(object? obj) => obj is TreeHead other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(TreeSize, TimestampMilliseconds, BitConverter.ToInt32(_rootHash));

    public override string ToString() => $"tree head: {TreeSize} leaves at {Timestamp:O}, root {Convert.ToHexStringLower(_rootHash)}";
}

/// <summary>A tree head with the log's ECDSA P-256 / SHA-256 signature over <see cref="TreeHead.Encode"/>, DER-encoded.</summary>
public sealed class SignedTreeHead
{
    private readonly byte[] _signature;

    public SignedTreeHead(TreeHead head, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(head);
        Head = head;
        _signature = signature.ToArray();
    }

    public TreeHead Head { get; }

    /// <summary>The signature: an RFC 3279 Ecdsa-Sig-Value, DER SEQUENCE { r INTEGER, s INTEGER }.</summary>
    public ReadOnlySpan<byte> Signature => _signature;

    public override string ToString() => $"signed {Head}";
}
