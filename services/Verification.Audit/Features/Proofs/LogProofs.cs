using Microsoft.EntityFrameworkCore;
using Verification.Audit.Data;
using Verification.Audit.Verifier;

namespace Verification.Audit.Features.Proofs;

/// <summary>Why a proof could not be given.</summary>
public enum ProofRefusal
{
    None,

    /// <summary>No tree head has been signed yet.</summary>
    NoTreeHead,

    /// <summary>No entry has that event id.</summary>
    EntryNotFound,

    /// <summary>A size beyond the latest signed head, sizes in the wrong order, or an entry outside the tree.</summary>
    OutOfRange,
}

/// <summary>An inclusion proof with its entry, or why there is none.</summary>
public sealed record InclusionAnswer(ProofRefusal Refusal, string Reason, LogEntry? Entry, long TreeSize, IReadOnlyList<byte[]> AuditPath)
{
    public static InclusionAnswer Refused(ProofRefusal refusal, string reason) => new(refusal, reason, null, 0, []);
}

/// <summary>A consistency proof, or why there is none.</summary>
public sealed record ConsistencyAnswer(ProofRefusal Refusal, string Reason, long FirstSize, long SecondSize, IReadOnlyList<byte[]> Path)
{
    public static ConsistencyAnswer Refused(ProofRefusal refusal, string reason) => new(refusal, reason, 0, 0, []);
}

/// <summary>
/// Inclusion and consistency proofs for tree sizes up to the latest signed head, from the stored subtree hashes:
/// O(log n) point reads in one query per proof, never a recomputation of the tree.
/// </summary>
public sealed class LogProofs(AuditDbContext db, SignedTreeSize signedTreeSize)
{
    /// <param name="index">The entry by index, or null to find it by <paramref name="eventId"/>.</param>
    /// <param name="eventId">The entry by event id, when <paramref name="index"/> is null.</param>
    /// <param name="treeSize">The tree to prove against; 0 means the latest signed head.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public async Task<InclusionAnswer> InclusionAsync(long? index, Guid eventId, long treeSize, CancellationToken cancellationToken)
    {
        var latest = await SignedSizeCoveringAsync(treeSize, cancellationToken);
        if (latest is not { } signedSize)
        {
            return InclusionAnswer.Refused(ProofRefusal.NoTreeHead, "No tree head has been signed yet.");
        }

        var size = treeSize == 0 ? signedSize : treeSize;
        if (size > signedSize)
        {
            return InclusionAnswer.Refused(ProofRefusal.OutOfRange, $"tree_size {size} is beyond the latest signed tree head ({signedSize}).");
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            var entry = await LogTables.ReadEntryAsync(connection, index, eventId, cancellationToken);
            if (entry is null && index is null)
            {
                return InclusionAnswer.Refused(ProofRefusal.EntryNotFound, "No entry has that event id.");
            }

            var leafIndex = entry?.Index ?? index!.Value;
            if (entry is null || leafIndex >= size)
            {
                return InclusionAnswer.Refused(ProofRefusal.OutOfRange, $"Entry {leafIndex} is not inside the tree of size {size}.");
            }

            var path = await new MerkleLogTree(new StoredSubtreeHashes(connection)).InclusionProofAsync(leafIndex, size, cancellationToken);
            return new InclusionAnswer(ProofRefusal.None, "", entry, size, path);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <param name="firstSize">The earlier tree size.</param>
    /// <param name="secondSize">The later tree size; 0 means the latest signed head.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public async Task<ConsistencyAnswer> ConsistencyAsync(long firstSize, long secondSize, CancellationToken cancellationToken)
    {
        var latest = await SignedSizeCoveringAsync(secondSize, cancellationToken);
        if (latest is not { } signedSize)
        {
            return ConsistencyAnswer.Refused(ProofRefusal.NoTreeHead, "No tree head has been signed yet.");
        }

        var second = secondSize == 0 ? signedSize : secondSize;
        if (second > signedSize)
        {
            return ConsistencyAnswer.Refused(ProofRefusal.OutOfRange, $"second_size {second} is beyond the latest signed tree head ({signedSize}).");
        }

        if (firstSize > second)
        {
            return ConsistencyAnswer.Refused(ProofRefusal.OutOfRange, $"first_size {firstSize} is larger than second_size {second}.");
        }

        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var path = await new MerkleLogTree(new StoredSubtreeHashes(db.Database.GetDbConnection())).ConsistencyProofAsync(firstSize, second, cancellationToken);
            return new ConsistencyAnswer(ProofRefusal.None, "", firstSize, second, path);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    // A size already known to be signed needs no query; "latest" (0) and larger sizes ask the database.
    private async Task<long?> SignedSizeCoveringAsync(long requestedSize, CancellationToken cancellationToken)
    {
        var known = signedTreeSize.Known;
        if (requestedSize > 0 && requestedSize <= known)
        {
            return known;
        }

        var latest = await db.TreeHeads.AsNoTracking().OrderByDescending(h => h.TreeSize).Select(h => (long?)h.TreeSize).FirstOrDefaultAsync(cancellationToken);
        if (latest is { } size)
        {
            signedTreeSize.Observe(size);
        }

        return latest;
    }
}
