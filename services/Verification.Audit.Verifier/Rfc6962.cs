using System.Numerics;
using System.Security.Cryptography;

namespace Verification.Audit.Verifier;

/// <summary>
/// The Merkle tree hashing of RFC 6962 §2.1 (unchanged in RFC 9162 §2.1.1) with SHA-256:
/// leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right); the hash of an empty tree is SHA-256 of nothing.
/// The prefixes keep a leaf from ever being passed off as an interior node (second-preimage resistance).
/// </summary>
public static class Rfc6962
{
    /// <summary>Bytes in every hash.</summary>
    public const int HashSize = 32;

    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;

    /// <summary>MTH({}) = SHA-256(), the root of the empty tree.</summary>
    public static byte[] EmptyTreeHash() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>The leaf hash of one log entry: SHA-256(0x00 ‖ entry).</summary>
    public static byte[] HashLeaf(ReadOnlySpan<byte> entry)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([LeafPrefix]);
        sha.AppendData(entry);
        return sha.GetHashAndReset();
    }

    /// <summary>The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).</summary>
    public static byte[] HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != HashSize || right.Length != HashSize)
        {
            throw new ArgumentException($"Child hashes are {HashSize} bytes.");
        }

        Span<byte> buffer = stackalloc byte[1 + (2 * HashSize)];
        buffer[0] = NodePrefix;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The split point k of RFC 6962's MTH for n &gt; 1: the largest power of two smaller than n.</summary>
    public static long SplitPoint(long n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 2);
        return 1L << (63 - BitOperations.LeadingZeroCount((ulong)(n - 1)));
    }
}
