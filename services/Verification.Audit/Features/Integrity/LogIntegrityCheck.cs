using System.Diagnostics;
using Verification.Audit.Data;
using Verification.Audit.Features.Keys;
using Verification.Audit.Verifier;
using Verification.Platform.Data;

namespace Verification.Audit.Features.Integrity;

/// <summary>
/// Recomputes the whole log from its canonical bytes and compares every stored derivative with it: indexes consecutive,
/// each leaf hash from its bytes, each search column from its bytes, every stored subtree hash, every signed head's root
/// and signature, and the newest published head. Finds the first damage an insider with database access could cause.
/// </summary>
public sealed class LogIntegrityCheck(ModuleDatabase database, LogSigningKey key, PublishedHead published)
{
    /// <summary>Leaves per read: aligned to 2^16, so every subtree of level 1–16 completed in a chunk lies inside it.</summary>
    public const int ChunkLevels = 16;

    private const long ChunkSize = 1L << ChunkLevels;

    /// <summary>Runs between the published head's read and the database's, so a test can sign a head exactly there.</summary>
    internal Func<CancellationToken, Task>? BetweenHeadReads { get; init; }

    /// <summary>Runs between the database's newest head read and its size read, so a test can append and sign exactly there.</summary>
    internal Func<CancellationToken, Task>? BetweenHeadAndSizeReads { get; init; }
    private const int HeadsPerRead = 10_000;

    public async Task<IntegrityReport> RunAsync(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        // The published head first: the appender commits a head before it publishes it, so any head read here is already
        // in the database read next. Read the other way round, a head signed in between looked like a rollback.
        var publishedHead = published.Read();
        if (BetweenHeadReads is not null) await BetweenHeadReads(cancellationToken);
        await using var connection = await AuditConnections.OpenAsync(database, pooled: false, cancellationToken);
        // The newest head before the size, for the same reason: a head commits with its entries, so a size read later
        // covers it. Read the other way round, entries and a head appended in between looked like removed entries.
        var latest = await LogTables.ReadLatestTreeHeadAsync(connection, null, cancellationToken);
        if (BetweenHeadAndSizeReads is not null) await BetweenHeadAndSizeReads(cancellationToken);
        var (size, _) = await LogTables.ReadSizeAsync(connection, null, cancellationToken);
        // Heads and high subtrees are read while the entries stream on the first connection, which PostgreSQL does not
        // allow on one connection: they get their own.
        await using var side = await AuditConnections.OpenAsync(database, pooled: false, cancellationToken);
        IntegrityReport Damage(long? index, string problem, long checkedCount) =>
            new(false, checkedCount, DateTimeOffset.UtcNow, started.Elapsed, index, problem);

        if (publishedHead is not null && (latest is null || latest.TreeSize < publishedHead.TreeSize))
            return Damage(null, $"the log was rolled back: it published a signed head of {publishedHead.TreeSize} entries, and its newest stored head covers {latest?.TreeSize ?? 0}", 0);
        if (latest is not null && latest.TreeSize > size)
            return Damage(size, $"entries were removed: the signed head of {latest.TreeSize} entries covers entries from {size} on that are not stored", 0);

        using var verifier = TreeHeadVerifier.FromPublicKeyPem(key.PublicKeyPem);
        var range = CompactRange.Empty();
        var heads = new Queue<StoredTreeHead>(await LogTables.ReadTreeHeadsAsync(connection, 0, HeadsPerRead, cancellationToken));
        var lastHeadSize = 0L;
        var lastTimestamp = long.MinValue;
        for (var chunkStart = 0L; chunkStart < size; chunkStart += ChunkSize)
        {
            var chunkEnd = Math.Min(size, chunkStart + ChunkSize);
            var stored = await LogTables.ReadSubtreeRangesAsync(connection, Ranges(chunkStart, chunkEnd), cancellationToken);
            var expected = chunkStart;
            await foreach (var entry in LogTables.StreamEntriesAsync(connection, chunkStart, chunkEnd, cancellationToken))
            {
                if (entry.Index != expected)
                    return Damage(expected, $"entry {expected} is missing: the next stored entry is {entry.Index}", expected);
                var leaf = Rfc6962.HashLeaf(entry.CanonicalBytes);
                if (!leaf.AsSpan().SequenceEqual(entry.LeafHash))
                    return Damage(entry.Index, $"entry {entry.Index}'s canonical bytes do not hash to its stored leaf hash", expected);
                if (EntryFieldsCheck.QuickCompare(Fields(entry), entry.CanonicalBytes) is { Count: > 0 } mismatches)
                    return Damage(entry.Index, $"entry {entry.Index}'s stored {mismatches[0].Field} contradicts its canonical bytes", expected);
                foreach (var node in range.Append(leaf))
                {
                    if (node.Address.Level == 0) continue;
                    var hash = node.Address.Level <= ChunkLevels
                        ? stored.GetValueOrDefault(node.Address)
                        : (await LogTables.ReadSubtreeRangesAsync(side, [(node.Address.Level, node.Address.Index, node.Address.Index)], cancellationToken)).GetValueOrDefault(node.Address);
                    if (hash is null || !hash.AsSpan().SequenceEqual(node.Hash))
                        return Damage(node.Address.FirstLeaf, $"the stored hash of subtree {node.Address} ({(hash is null ? "missing" : "altered")}) is not the one entries {node.Address.FirstLeaf} to {node.Address.EndLeaf - 1} give", expected);
                }

                expected++;
                while (heads.TryPeek(out var head) && head.TreeSize <= range.Size)
                {
                    heads.Dequeue();
                    if (head.TreeSize != range.Size || !range.Root().AsSpan().SequenceEqual(head.RootHash))
                        return Damage(head.TreeSize - 1, $"the signed head of {head.TreeSize} entries does not have the root its entries give", expected);
                    if (head.KeyId == key.KeyId && !verifier.Verify(Signed(head)))
                        return Damage(head.TreeSize - 1, $"the signed head of {head.TreeSize} entries does not verify under the log's key", expected);
                    if (head.TimestampMilliseconds < lastTimestamp)
                        return Damage(head.TreeSize - 1, $"the signed head of {head.TreeSize} entries is dated before the head of {lastHeadSize}", expected);
                    lastTimestamp = head.TimestampMilliseconds;
                    lastHeadSize = head.TreeSize;
                    if (heads.Count == 0)
                    {
                        foreach (var next in await LogTables.ReadTreeHeadsAsync(side, lastHeadSize, HeadsPerRead, cancellationToken)) heads.Enqueue(next);
                    }
                }

                if (publishedHead is not null && publishedHead.TreeSize == range.Size && !range.Root().AsSpan().SequenceEqual(publishedHead.RootHash))
                    return Damage(range.Size - 1, $"the log's first {range.Size} entries are not the ones of the head it published with that size: history was rewritten", expected);
            }

            if (expected != chunkEnd)
                return Damage(expected, $"entry {expected} is missing", expected);
            progress?.Report(expected);
        }

        return new IntegrityReport(true, size, DateTimeOffset.UtcNow, started.Elapsed);
    }

    /// <summary>For each level 1–16, the node indexes completed inside [first, end) of an aligned chunk.</summary>
    private static List<(int Level, long First, long Last)> Ranges(long first, long end)
    {
        var ranges = new List<(int, long, long)>(ChunkLevels);
        for (var level = 1; level <= ChunkLevels; level++)
        {
            var firstNode = first >> level;
            var endNode = end >> level;
            if (endNode > firstNode) ranges.Add((level, firstNode, endNode - 1));
        }

        return ranges;
    }

    public static EntryFields Fields(LogEntry entry) => new()
    {
        EventId = entry.EventId.ToString("D"),
        EventType = entry.EventType,
        OccurTime = entry.OccurredAt,
        AppendTime = entry.AppendedAt,
        ActingMemberCode = entry.ActingMember,
        CorrelationId = entry.CorrelationId,
        TraceId = entry.TraceId,
        MaskedNik = entry.MaskedNik ?? "",
        ParticipantNumber = entry.ParticipantNumber ?? "",
        MemberCode = entry.MemberCode ?? "",
        LoanReference = entry.LoanReference ?? "",
        BatchId = entry.BatchId ?? "",
    };

    private static SignedTreeHead Signed(StoredTreeHead head) =>
        new(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.TimestampMilliseconds), head.RootHash), head.Signature);
}
