using System.Security.Cryptography;

namespace Verification.Audit.Tests;

/// <summary>
/// RFC 6962 §2.1 written out as its recursive definitions, sharing no code with the library: the yardstick
/// the store-backed proofs are measured against. MTH results are memoised only to keep big trees quick.
/// </summary>
internal sealed class ReferenceMerkleTree(IReadOnlyList<byte[]> entries)
{
    private readonly byte[][] _leafHashes = [.. entries.Select(e => SHA256.HashData([0x00, .. e]))];
    private readonly Dictionary<(int, int), byte[]> _mth = [];

    public int Size => _leafHashes.Length;

    // MTH(D[n]); D[start:end] is the range of leaves.
    public byte[] Mth(int start, int end)
    {
        var n = end - start;
        if (n == 0)
        {
            return SHA256.HashData([]);
        }

        if (n == 1)
        {
            return _leafHashes[start];
        }

        if (!_mth.TryGetValue((start, end), out var hash))
        {
            var k = K(n);
            hash = SHA256.HashData([0x01, .. Mth(start, start + k), .. Mth(start + k, end)]);
            _mth[(start, end)] = hash;
        }

        return hash;
    }

    public byte[] Root(int size) => Mth(0, size);

    // PATH(m, D[n]).
    public List<byte[]> Path(int m, int size) => Path(m, 0, size);

    // PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    public List<byte[]> Proof(int m, int size) => SubProof(m, 0, size, true);

    private List<byte[]> Path(int m, int start, int end)
    {
        var n = end - start;
        if (n == 1)
        {
            return [];
        }

        var k = K(n);
        return m < k
            ? [.. Path(m, start, start + k), Mth(start + k, end)]
            : [.. Path(m - k, start + k, end), Mth(start, start + k)];
    }

    private List<byte[]> SubProof(int m, int start, int end, bool b)
    {
        var n = end - start;
        if (m == n)
        {
            return b ? [] : [Mth(start, end)];
        }

        var k = K(n);
        return m <= k
            ? [.. SubProof(m, start, start + k, b), Mth(start + k, end)]
            : [.. SubProof(m - k, start + k, end, false), Mth(start, start + k)];
    }

    // "k is the largest power of two smaller than n".
    private static int K(int n)
    {
        var k = 1;
        while (k * 2 < n)
        {
            k *= 2;
        }

        return k;
    }
}
