namespace Verification.Audit.Verifier;

/// <summary>
/// An append-only log held in memory: every leaf hash and complete subtree hash, one list per level.
/// The reference for a database store, and what tests and tools use; safe for concurrent use.
/// </summary>
public sealed class InMemorySubtreeHashStore : ISubtreeHashStore
{
    private readonly List<List<byte[]>> _levels = [[]];
    private readonly Lock _gate = new();

    /// <summary>Leaves appended so far.</summary>
    public long Size
    {
        get
        {
            lock (_gate)
            {
                return _levels[0].Count;
            }
        }
    }

    /// <summary>Appends a log entry (hashed as an RFC 6962 leaf) and returns the subtree hashes it created.</summary>
    public IReadOnlyList<SubtreeHash> Append(ReadOnlySpan<byte> entry) => AppendLeafHash(Rfc6962.HashLeaf(entry));

    /// <summary>Appends a leaf hash and returns the subtree hashes it created.</summary>
    public IReadOnlyList<SubtreeHash> AppendLeafHash(byte[] leafHash)
    {
        lock (_gate)
        {
            long size = _levels[0].Count;
            var siblings = MerkleLogTree.AppendReads(size).Select(Read).ToList();
            var created = MerkleLogTree.Append(size, leafHash, siblings);
            foreach (var node in created)
            {
                if (_levels.Count == node.Address.Level)
                {
                    _levels.Add([]);
                }

                // Append-only by construction: each new node lands at the end of its level.
                var level = _levels[node.Address.Level];
                if (level.Count != node.Address.Index)
                {
                    throw new InvalidOperationException($"Subtree {node.Address} is out of order.");
                }

                level.Add([.. node.Hash]);
            }

            return created;
        }
    }

    public ValueTask<IReadOnlyList<byte[]>> ReadAsync(IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<byte[]>>([.. addresses.Select(Read)]);
        }
    }

    // Copies out, so a caller that scribbles on a proof cannot rewrite the log.
    private byte[] Read(SubtreeAddress address) =>
        address.Level < _levels.Count && address.Index < _levels[address.Level].Count
            ? [.. _levels[address.Level][(int)address.Index]]
            : throw new KeyNotFoundException($"No complete subtree {address} in a log of {_levels[0].Count} leaves.");
}
