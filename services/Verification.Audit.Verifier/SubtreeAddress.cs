namespace Verification.Audit.Verifier;

/// <summary>
/// A complete (perfect) subtree of the log: the 2^<see cref="Level"/> leaves starting at leaf
/// <see cref="Index"/> × 2^<see cref="Level"/>. Level 0 addresses single leaf hashes. Once a subtree is
/// complete its hash never changes, so a store can keep it forever and every later tree shares it.
/// </summary>
public readonly record struct SubtreeAddress
{
    public SubtreeAddress(int level, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 62);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, (long.MaxValue >> level) - 1);
        Level = level;
        Index = index;
    }

    public int Level { get; }

    public long Index { get; }

    /// <summary>Index of the first leaf covered.</summary>
    public long FirstLeaf => Index << Level;

    /// <summary>Number of leaves covered: 2^Level.</summary>
    public long LeafCount => 1L << Level;

    /// <summary>One past the last leaf covered.</summary>
    public long EndLeaf => FirstLeaf + LeafCount;

    public override string ToString() => $"(level {Level}, index {Index})";
}

/// <summary>The hash of a complete subtree, as a store persists it.</summary>
public sealed record SubtreeHash(SubtreeAddress Address, byte[] Hash);

/// <summary>
/// Read access to persisted complete-subtree hashes. The server stores every leaf hash and every
/// complete subtree hash once (see <see cref="MerkleLogTree.ComputeAppendAsync"/>), so proofs need only
/// a handful of reads; a database implementation answers each call with one query.
/// </summary>
public interface ISubtreeHashStore
{
    /// <summary>
    /// The hashes at the given addresses, in the order asked. Every address asked for is a complete subtree of a
    /// tree the caller knows the store holds; a missing one is a broken store and must throw, never be skipped.
    /// </summary>
    ValueTask<IReadOnlyList<byte[]>> ReadAsync(IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken = default);
}
