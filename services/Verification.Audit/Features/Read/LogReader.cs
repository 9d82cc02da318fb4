using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Audit.Data;
using Verification.Audit.Features.Integrity;
using Verification.Platform.Data;

namespace Verification.Audit.Features.Read;

/// <summary>A stored entry is missing where the log must have one: damage, never a page to skip.</summary>
public sealed class LogGapException(long missingIndex) : Exception($"Audit log entry {missingIndex} is missing.")
{
    public long MissingIndex { get; } = missingIndex;
}

/// <summary>Consecutive entries and the latest signed tree head; a gap is reported, never skipped.</summary>
public sealed class LogReader(AuditDbContext db, [FromKeyedServices(typeof(AuditDbContext))] ModuleDatabase database, LogIntegrity integrity)
{
    /// <summary>Up to <paramref name="count"/> entries from <paramref name="fromIndex"/>; fewer only at the end of the log.</summary>
    /// <exception cref="LogGapException">An index below the log's end has no entry.</exception>
    public async Task<List<LogEntry>> EntriesAsync(long fromIndex, int count, CancellationToken cancellationToken)
    {
        var entries = await db.Entries.AsNoTracking()
            .Where(e => e.Index >= fromIndex && e.Index < fromIndex + count)
            .OrderBy(e => e.Index)
            .ToListAsync(cancellationToken);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Index != fromIndex + i) throw Gap(fromIndex + i);
        }

        // Fewer than asked: the log must end there, or an index is missing.
        if (entries.Count < count && await db.Entries.AnyAsync(e => e.Index >= fromIndex + entries.Count, cancellationToken))
            throw Gap(fromIndex + entries.Count);
        return entries;
    }

    /// <summary>Every entry in [<paramref name="fromIndex"/>, <paramref name="toIndex"/>), in order, streamed.</summary>
    /// <exception cref="LogGapException">An index in the range has no entry.</exception>
    public async IAsyncEnumerable<LogEntry> StreamAsync(long fromIndex, long toIndex, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await AuditConnections.OpenAsync(database, pooled: true, cancellationToken);
        var expected = fromIndex;
        await foreach (var entry in LogTables.StreamEntriesAsync(connection, fromIndex, toIndex, cancellationToken))
        {
            if (entry.Index != expected) throw Gap(expected);
            expected++;
            yield return entry;
        }

        if (expected < toIndex) throw Gap(expected);
    }

    public Task<StoredTreeHead?> LatestTreeHeadAsync(CancellationToken cancellationToken) =>
        db.TreeHeads.AsNoTracking().OrderByDescending(h => h.TreeSize).FirstOrDefaultAsync(cancellationToken);

    private LogGapException Gap(long index)
    {
        integrity.Damage($"entry {index} is missing from the stored log", index);
        return new LogGapException(index);
    }
}
