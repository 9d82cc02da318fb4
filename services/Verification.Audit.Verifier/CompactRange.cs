using System.Numerics;

namespace Verification.Audit.Verifier;

/// <summary>
/// The compact range [0, size) of a log: for each 1-bit L of the size, the hash of the complete subtree of 2^L leaves
/// that ends the binary decomposition there (at most 63 hashes). It is all an append reads and all the root needs: the
/// appender extends it without reading hashes back, and an auditor keeps it between runs to check every new entry
/// against the next signed head without downloading the old ones again.
/// </summary>
public sealed class CompactRange
{
    private readonly Dictionary<int, byte[]> _nodes;

    private CompactRange(long size, Dictionary<int, byte[]> nodes)
    {
        Size = size;
        _nodes = nodes;
    }

    public long Size { get; private set; }

    /// <summary>The complete subtrees that make up the right edge of a tree of <paramref name="size"/> leaves, lowest level first.</summary>
    public static IReadOnlyList<SubtreeAddress> Addresses(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var addresses = new List<SubtreeAddress>();
        for (var level = 0; level < 63; level++)
        {
            if ((size & (1L << level)) != 0)
            {
                addresses.Add(new SubtreeAddress(level, (size >> level) - 1));
            }
        }

        return addresses;
    }

    /// <summary>Loads the frontier of a stored tree of <paramref name="size"/> leaves.</summary>
    public static async Task<CompactRange> LoadAsync(ISubtreeHashStore store, long size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var addresses = Addresses(size);
        var hashes = await store.ReadAsync(addresses, cancellationToken);
        var nodes = new Dictionary<int, byte[]>();
        for (var i = 0; i < addresses.Count; i++)
        {
            nodes[addresses[i].Level] = hashes[i];
        }

        return new CompactRange(size, nodes);
    }

    public static CompactRange Empty() => new(0, []);

    /// <summary>A range saved with <see cref="Hashes"/>: one hash per 1-bit of <paramref name="size"/>, lowest level first.</summary>
    public static CompactRange FromHashes(long size, IReadOnlyList<byte[]> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        var addresses = Addresses(size);
        if (hashes.Count != addresses.Count || hashes.Any(h => h.Length != Rfc6962.HashSize))
            throw new ArgumentException($"A compact range of {size} leaves has {addresses.Count} hashes of {Rfc6962.HashSize} bytes.", nameof(hashes));
        var nodes = new Dictionary<int, byte[]>();
        for (var i = 0; i < addresses.Count; i++) nodes[addresses[i].Level] = hashes[i];
        return new CompactRange(size, nodes);
    }

    /// <summary>The range's hashes, lowest level first, as <see cref="FromHashes"/> takes them.</summary>
    public IReadOnlyList<byte[]> Hashes => [.. Addresses(Size).Select(a => _nodes[a.Level])];

    public CompactRange Clone() => new(Size, new Dictionary<int, byte[]>(_nodes));

    /// <summary>Appends a leaf; returns every complete subtree it created (the leaf itself first), to persist.</summary>
    public IReadOnlyList<SubtreeHash> Append(byte[] leafHash)
    {
        var reads = MerkleLogTree.AppendReads(Size);
        var siblings = new byte[reads.Count][];
        for (var i = 0; i < reads.Count; i++)
        {
            siblings[i] = _nodes[reads[i].Level];
        }

        var created = MerkleLogTree.Append(Size, leafHash, siblings);

        // The trailing 1-bits become 0 and the next bit becomes 1: the merged subtree replaces its parts.
        foreach (var read in reads)
        {
            _nodes.Remove(read.Level);
        }

        var top = created[^1];
        _nodes[top.Address.Level] = top.Hash;
        Size++;
        return created;
    }

    /// <summary>MTH of the whole tree: the frontier folded from the right.</summary>
    public byte[] Root()
    {
        if (Size == 0)
        {
            return Rfc6962.EmptyTreeHash();
        }

        byte[]? root = null;
        for (var level = BitOperations.TrailingZeroCount((ulong)Size); level < 63; level++)
        {
            if ((Size & (1L << level)) == 0)
            {
                continue;
            }

            root = root is null ? _nodes[level] : Rfc6962.HashChildren(_nodes[level], root);
        }

        return root!;
    }
}
