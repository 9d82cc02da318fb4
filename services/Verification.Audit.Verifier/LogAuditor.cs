namespace Verification.Audit.Verifier;

/// <summary>What an audit check concluded. Anything but <see cref="Verified"/> is evidence against the log or the proof.</summary>
public enum AuditFinding
{
    Verified,

    /// <summary>A tree head's signature does not verify under the log's public key.</summary>
    SignatureInvalid,

    /// <summary>The leaf index is not inside the signed tree.</summary>
    LeafOutsideTree,

    /// <summary>The entry is not at that index in the signed tree: altered, moved or never there.</summary>
    InclusionProofInvalid,

    /// <summary>The later head has fewer leaves than the earlier one.</summary>
    TreeShrank,

    /// <summary>The later head is timestamped before the earlier one.</summary>
    TimestampWentBackwards,

    /// <summary>The later tree does not extend the earlier one: history was rewritten.</summary>
    ConsistencyProofInvalid,
}

/// <summary>
/// The checks an auditor runs, trusting only the log's public key: an entry is in a signed tree, and a
/// later signed tree extends an earlier one. Signatures are checked before any proof.
/// </summary>
public sealed class LogAuditor(TreeHeadVerifier verifier)
{
    /// <summary>Is <paramref name="entry"/> leaf number <paramref name="leafIndex"/> of the signed tree?</summary>
    public AuditFinding CheckEntry(SignedTreeHead signedHead, ReadOnlySpan<byte> entry, long leafIndex, IReadOnlyList<byte[]> inclusionProof)
    {
        ArgumentNullException.ThrowIfNull(signedHead);
        if (!verifier.Verify(signedHead))
        {
            return AuditFinding.SignatureInvalid;
        }

        var head = signedHead.Head;
        if (leafIndex < 0 || leafIndex >= head.TreeSize)
        {
            return AuditFinding.LeafOutsideTree;
        }

        return MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(entry), leafIndex, head.TreeSize, inclusionProof, head.RootHash)
            ? AuditFinding.Verified
            : AuditFinding.InclusionProofInvalid;
    }

    /// <summary>Does the <paramref name="later"/> signed tree extend the <paramref name="earlier"/> one?</summary>
    public AuditFinding CheckGrowth(SignedTreeHead earlier, SignedTreeHead later, IReadOnlyList<byte[]> consistencyProof)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(later);
        if (!verifier.Verify(earlier) || !verifier.Verify(later))
        {
            return AuditFinding.SignatureInvalid;
        }

        if (later.Head.TreeSize < earlier.Head.TreeSize)
        {
            return AuditFinding.TreeShrank;
        }

        if (later.Head.TimestampMilliseconds < earlier.Head.TimestampMilliseconds)
        {
            return AuditFinding.TimestampWentBackwards;
        }

        return MerkleVerifier.VerifyConsistency(earlier.Head.TreeSize, later.Head.TreeSize, earlier.Head.RootHash, later.Head.RootHash, consistencyProof)
            ? AuditFinding.Verified
            : AuditFinding.ConsistencyProofInvalid;
    }
}
