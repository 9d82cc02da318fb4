using System.Numerics;

namespace Verification.Audit.Verifier;

/// <summary>
/// The server's side of an RFC 6962 log over persisted complete-subtree hashes: tree heads, inclusion
/// proofs (§2.1.1 PATH) and consistency proofs (§2.1.2 PROOF) for any tree size the store holds, and
/// the hashes an append creates.
/// </summary>
/// <remarks>
/// Every node of a proof is MTH of a range of leaves. Left-hand ranges are complete subtrees; only a
/// range that reaches the right edge of the tree can be incomplete, and its MTH folds its binary
/// decomposition into complete subtrees (at most log2 n of them). Each request therefore plans the
/// O(log n) addresses it needs, reads them in one <see cref="ISubtreeHashStore.ReadAsync"/> call and
/// hashes at most O(log n) times: the tree is never recomputed.
/// </remarks>
public sealed class MerkleLogTree(ISubtreeHashStore store)
{
    /// <summary>MTH of the first <paramref name="treeSize"/> leaves.</summary>
    public async ValueTask<byte[]> RootAsync(long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        if (treeSize == 0)
        {
            return Rfc6962.EmptyTreeHash();
        }

        var hashes = await ReadRangesAsync([new LeafRange(0, treeSize)], cancellationToken).ConfigureAwait(false);
        return hashes[0];
    }

    /// <summary>The audit path of RFC 6962 §2.1.1 for leaf <paramref name="leafIndex"/> in the tree of <paramref name="treeSize"/> leaves, nearest the leaf first.</summary>
    public ValueTask<IReadOnlyList<byte[]>> InclusionProofAsync(long leafIndex, long treeSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        return ReadRangesAsync(InclusionRanges(leafIndex, treeSize), cancellationToken);
    }

    /// <summary>The consistency proof of RFC 6962 §2.1.2 between the trees of <paramref name="oldSize"/> and <paramref name="newSize"/> leaves; empty when either is trivial.</summary>
    public ValueTask<IReadOnlyList<byte[]>> ConsistencyProofAsync(long oldSize, long newSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        return ReadRangesAsync(ConsistencyRanges(oldSize, newSize), cancellationToken);
    }

    /// <summary>
    /// The complete-subtree hashes created by appending <paramref name="leafHash"/> as leaf number
    /// <paramref name="treeSize"/> (0-based): the leaf itself and every subtree it completes. Persist all of
    /// them in the same transaction as the entry; the store must already hold the first <paramref name="treeSize"/> leaves.
    /// </summary>
    public async ValueTask<IReadOnlyList<SubtreeHash>> ComputeAppendAsync(long treeSize, byte[] leafHash, CancellationToken cancellationToken = default)
    {
        var reads = AppendReads(treeSize);
        var siblings = reads.Count == 0 ? [] : await store.ReadAsync(reads, cancellationToken).ConfigureAwait(false);
        return Append(treeSize, leafHash, siblings);
    }

    /// <summary>
    /// The addresses <see cref="Append"/> needs: the left siblings the new leaf completes, one per trailing
    /// 1-bit of <paramref name="treeSize"/>, lowest level first.
    /// </summary>
    public static IReadOnlyList<SubtreeAddress> AppendReads(long treeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        var merges = BitOperations.TrailingZeroCount(~(ulong)treeSize);
        var reads = new SubtreeAddress[merges];
        for (var level = 0; level < merges; level++)
        {
            reads[level] = new SubtreeAddress(level, (treeSize >> level) - 1);
        }

        return reads;
    }

    /// <summary>The hashes appending a leaf creates, given the left siblings read at <see cref="AppendReads"/>.</summary>
    public static IReadOnlyList<SubtreeHash> Append(long treeSize, byte[] leafHash, IReadOnlyList<byte[]> leftSiblings)
    {
        ArgumentNullException.ThrowIfNull(leafHash);
        ArgumentNullException.ThrowIfNull(leftSiblings);
        if (leafHash.Length != Rfc6962.HashSize)
        {
            throw new ArgumentException($"A leaf hash is {Rfc6962.HashSize} bytes.", nameof(leafHash));
        }

        var reads = AppendReads(treeSize);
        if (leftSiblings.Count != reads.Count)
        {
            throw new ArgumentException($"Appending at size {treeSize} needs {reads.Count} left siblings.", nameof(leftSiblings));
        }

        var created = new List<SubtreeHash>(reads.Count + 1) { new(new SubtreeAddress(0, treeSize), [.. leafHash]) };
        var current = leafHash;
        for (var level = 0; level < reads.Count; level++)
        {
            current = Rfc6962.HashChildren(leftSiblings[level], current);
            created.Add(new SubtreeHash(new SubtreeAddress(level + 1, treeSize >> (level + 1)), current));
        }

        return created;
    }

    /// <summary>
    /// The complete subtrees whose hashes fold into MTH of leaves [start, end): the binary decomposition
    /// from the left. <paramref name="start"/> must be a multiple of a power of two at least end − start,
    /// as every range in an RFC 6962 tree is.
    /// </summary>
    public static IReadOnlyList<SubtreeAddress> Decompose(long start, long end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(end, start);
        if (start != 0 && (start & -start) < end - start)
        {
            throw new ArgumentException($"[{start}, {end}) is not a node of an RFC 6962 tree.", nameof(start));
        }

        var subtrees = new List<SubtreeAddress>();
        while (start < end)
        {
            var level = 63 - BitOperations.LeadingZeroCount((ulong)(end - start));
            subtrees.Add(new SubtreeAddress(level, start >> level));
            start += 1L << level;
        }

        return subtrees;
    }

    // PATH(m, D[n]) top-down: at each split the sibling is the other half; the result lists them leaf first.
    private static List<LeafRange> InclusionRanges(long leafIndex, long treeSize)
    {
        var ranges = new List<LeafRange>();
        long start = 0, end = treeSize;
        while (end - start > 1)
        {
            var k = Rfc6962.SplitPoint(end - start);
            if (leafIndex - start < k)
            {
                ranges.Add(new LeafRange(start + k, end));
                end = start + k;
            }
            else
            {
                ranges.Add(new LeafRange(start, start + k));
                start += k;
            }
        }

        ranges.Reverse();
        return ranges;
    }

    // SUBPROOF(m, D[n], b) unrolled: siblings are collected top-down and emitted bottom-up after the base node.
    private static List<LeafRange> ConsistencyRanges(long oldSize, long newSize)
    {
        var ranges = new List<LeafRange>();
        if (oldSize == 0 || oldSize == newSize)
        {
            return ranges;
        }

        long start = 0, end = newSize, m = oldSize;
        var wholeOldTree = true;
        while (m != end - start)
        {
            var k = Rfc6962.SplitPoint(end - start);
            if (m <= k)
            {
                ranges.Add(new LeafRange(start + k, end));
                end = start + k;
            }
            else
            {
                ranges.Add(new LeafRange(start, start + k));
                start += k;
                m -= k;
                wholeOldTree = false;
            }
        }

        // When the old tree is itself a node here its root is known to the verifier and is left out (b = true).
        if (!wholeOldTree)
        {
            ranges.Add(new LeafRange(start, end));
        }

        ranges.Reverse();
        return ranges;
    }

    private async ValueTask<IReadOnlyList<byte[]>> ReadRangesAsync(List<LeafRange> ranges, CancellationToken cancellationToken)
    {
        if (ranges.Count == 0)
        {
            return [];
        }

        var plan = ranges.Select(r => Decompose(r.Start, r.End)).ToList();
        var addresses = plan.SelectMany(subtrees => subtrees).ToList();
        var hashes = await store.ReadAsync(addresses, cancellationToken).ConfigureAwait(false);
        if (hashes.Count != addresses.Count)
        {
            throw new InvalidOperationException($"The subtree store returned {hashes.Count} hashes for {addresses.Count} addresses.");
        }

        var results = new byte[ranges.Count][];
        var next = 0;
        for (var i = 0; i < plan.Count; i++)
        {
            var count = plan[i].Count;

            // MTH of a right-edge range folds its complete subtrees from the right: H(c1, H(c2, … cn)).
            var folded = Checked(hashes[next + count - 1]);
            for (var j = count - 2; j >= 0; j--)
            {
                folded = Rfc6962.HashChildren(Checked(hashes[next + j]), folded);
            }

            results[i] = folded;
            next += count;
        }

        return results;
    }

    private static byte[] Checked(byte[]? hash) =>
        hash is { Length: Rfc6962.HashSize }
            ? hash
            : throw new InvalidOperationException("The subtree store returned a missing or malformed hash.");

    private readonly record struct LeafRange(long Start, long End);
}
