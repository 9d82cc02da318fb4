using System.Numerics;
using Verification.Audit.Verifier;

namespace Verification.Audit.Features.Append;

/// <summary>
/// The right edge of the tree held in memory by the appender: for each 1-bit L of the size, the hash of the
/// complete subtree of 2^L leaves that ends the binary decomposition there. That is all an append reads, and all
/// the root needs, so appending never queries the database for hashes.
/// </summary>
public sealed class LogFrontier
{
    private readonly Dictionary<int, byte[]> _nodes;

    private LogFrontier(long size, Dictionary<int, byte[]> nodes)
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
    public static async Task<LogFrontier> LoadAsync(ISubtreeHashStore store, long size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var addresses = Addresses(size);
        var hashes = await store.ReadAsync(addresses, cancellationToken);
        var nodes = new Dictionary<int, byte[]>();
        for (var i = 0; i < addresses.Count; i++)
        {
            nodes[addresses[i].Level] = hashes[i];
        }

        return new LogFrontier(size, nodes);
    }

    public static LogFrontier Empty() => new(0, []);

    public LogFrontier Clone() => new(Size, new Dictionary<int, byte[]>(_nodes));

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
