namespace Verification.Audit.Verifier;

/// <summary>
/// Proof verification for auditors and the CLI, following RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
/// (consistency) step by step. It trusts nothing it is given: every hash must be 32 bytes, a proof with a
/// node too many or too few fails, and it never asks the server for anything.
/// </summary>
public static class MerkleVerifier
{
    /// <summary>True when <paramref name="proof"/> proves the leaf at <paramref name="leafIndex"/> is in the tree of <paramref name="treeSize"/> leaves with root <paramref name="rootHash"/>.</summary>
    public static bool VerifyInclusion(ReadOnlySpan<byte> leafHash, long leafIndex, long treeSize, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> rootHash) =>
        rootHash.Length == Rfc6962.HashSize
        && RootFromInclusionProof(leafHash, leafIndex, treeSize, proof) is { } computed
        && computed.AsSpan().SequenceEqual(rootHash);

    /// <summary>The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or null when the proof cannot be right for that index and size.</summary>
    public static byte[]? RootFromInclusionProof(ReadOnlySpan<byte> leafHash, long leafIndex, long treeSize, IReadOnlyList<byte[]> proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (leafIndex < 0 || leafIndex >= treeSize || leafHash.Length != Rfc6962.HashSize || !AllHashes(proof))
        {
            return null;
        }

        var fn = (ulong)leafIndex;
        var sn = (ulong)(treeSize - 1);
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (sn == 0)
            {
                return null; // more proof than tree
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = Rfc6962.HashChildren(p, r);

                // On the right edge, skip the levels where this node has no right sibling.
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                r = Rfc6962.HashChildren(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 ? r : null;
    }

    /// <summary>
    /// True when <paramref name="proof"/> shows the tree of <paramref name="oldSize"/> leaves with root
    /// <paramref name="oldRoot"/> is a prefix of the tree of <paramref name="newSize"/> leaves with root <paramref name="newRoot"/>.
    /// Equal sizes need equal roots and an empty proof; an old size of 0 needs the empty-tree root and an empty proof.
    /// </summary>
    public static bool VerifyConsistency(long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (oldSize < 0 || newSize < oldSize || oldRoot.Length != Rfc6962.HashSize || newRoot.Length != Rfc6962.HashSize || !AllHashes(proof))
        {
            return false;
        }

        if (oldSize == 0)
        {
            return proof.Count == 0 && oldRoot.SequenceEqual(Rfc6962.EmptyTreeHash());
        }

        if (oldSize == newSize)
        {
            return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        }

        // 1. An empty proof cannot connect two different sizes.
        if (proof.Count == 0)
        {
            return false;
        }

        // 2. When the old tree is a complete subtree its root is the first node; the server leaves it out.
        IEnumerable<byte[]> path = proof;
        if ((oldSize & (oldSize - 1)) == 0)
        {
            path = proof.Prepend(oldRoot.ToArray());
        }

        // 3–4.
        var fn = (ulong)(oldSize - 1);
        var sn = (ulong)(newSize - 1);
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        // 5–6.
        using var nodes = path.GetEnumerator();
        nodes.MoveNext();
        var fr = nodes.Current;
        var sr = nodes.Current;
        while (nodes.MoveNext())
        {
            var c = nodes.Current;
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = Rfc6962.HashChildren(c, fr);
                sr = Rfc6962.HashChildren(c, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                sr = Rfc6962.HashChildren(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        // 7.
        return sn == 0 && fr.AsSpan().SequenceEqual(oldRoot) && sr.AsSpan().SequenceEqual(newRoot);
    }

    private static bool AllHashes(IReadOnlyList<byte[]> proof)
    {
        foreach (var node in proof)
        {
            if (node is not { Length: Rfc6962.HashSize })
            {
                return false;
            }
        }

        return true;
    }
}
