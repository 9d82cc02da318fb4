using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Verification.Audit.Data;
using Verification.Audit.Features.Keys;
using Verification.Platform.Telemetry;

namespace Verification.Audit.Features.Trace;

/// <summary>The key a trace follows.</summary>
public enum TraceKey
{
    /// <summary>Every entry.</summary>
    All,
    Nik,
    ParticipantNumber,

    /// <summary>Entries whose acting member or concerned member it is.</summary>
    MemberCode,
    LoanReference,
    BatchId,
    CorrelationId,
    EventType,
}

/// <summary>One page of a trace: entries matching <see cref="Key"/> = <see cref="Value"/>, occurred in [Start, End), after <see cref="AfterIndex"/> in the chosen order.</summary>
public sealed record TraceCriteria(
    TraceKey Key,
    string Value,
    DateTimeOffset? Start,
    DateTimeOffset? End,
    bool NewestFirst,
    long? AfterIndex,
    int Limit)
{
    /// <summary>Never the value: it may be a NIK.</summary>
    public override string ToString() => $"trace by {Key}, {(NewestFirst ? "newest" : "oldest")} first, limit {Limit}";
}

/// <summary>Finds entries by key and time, in index order, reading the database in chunks so a large page streams.</summary>
public sealed class TraceQuery(AuditDbContext db, NikHasher nikHasher)
{
    private const int ChunkSize = 500;

    public async IAsyncEnumerable<LogEntry> RunAsync(TraceCriteria criteria, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(criteria);
        var filtered = criteria.Key == TraceKey.Nik ? await PersonAsync(criteria, cancellationToken) : Filter(criteria);
        var remaining = criteria.Limit;
        var cursor = criteria.AfterIndex;
        while (remaining > 0)
        {
            var page = filtered;
            if (cursor is { } after)
            {
                page = criteria.NewestFirst ? page.Where(e => e.Index < after) : page.Where(e => e.Index > after);
            }

            page = criteria.NewestFirst ? page.OrderByDescending(e => e.Index) : page.OrderBy(e => e.Index);
            var take = Math.Min(ChunkSize, remaining);
            var chunk = await page.Take(take).ToListAsync(cancellationToken);
            foreach (var entry in chunk)
            {
                yield return entry;
            }

            remaining -= chunk.Count;
            if (chunk.Count < take)
            {
                yield break;
            }

            cursor = chunk[^1].Index;
        }
    }

    /// <summary>
    /// Everything about the person behind a NIK: entries carrying its keyed hash, entries of every participant number the
    /// log bound to it (ParticipantEnrolled carries both), and entries of every loan any of those concern (a cancellation,
    /// a denial). The mapping is read from the log itself; no NIK is stored.
    /// </summary>
    private async Task<IQueryable<LogEntry>> PersonAsync(TraceCriteria criteria, CancellationToken cancellationToken)
    {
        var nikHmac = nikHasher.Hash(criteria.Value);
        var participants = await db.Entries.AsNoTracking()
            .Where(e => e.NikHmac == nikHmac && e.ParticipantNumber != null)
            .Select(e => e.ParticipantNumber!).Distinct().ToListAsync(cancellationToken);
        var loans = await db.Entries.AsNoTracking()
            .Where(e => (e.NikHmac == nikHmac || participants.Contains(e.ParticipantNumber!)) && e.LoanReference != null)
            .Select(e => e.LoanReference!).Distinct().ToListAsync(cancellationToken);
        var entries = db.Entries.AsNoTracking().Where(e => e.NikHmac == nikHmac || participants.Contains(e.ParticipantNumber!) || loans.Contains(e.LoanReference!));
        return Within(entries, criteria);
    }

    private static IQueryable<LogEntry> Within(IQueryable<LogEntry> entries, TraceCriteria criteria)
    {
        if (criteria.Start is { } start) entries = entries.Where(e => e.OccurredAt >= start);
        if (criteria.End is { } end) entries = entries.Where(e => e.OccurredAt < end);
        return entries;
    }

    private IQueryable<LogEntry> Filter(TraceCriteria criteria)
    {
        var entries = db.Entries.AsNoTracking();
        // Keys are kept masked where they hold a NIK-shaped run of digits (a trace id may): the value sent is masked alike to find them.
        var value = criteria.Key == TraceKey.Nik ? criteria.Value : NikRedaction.Mask(criteria.Value);
        var nikHmac = criteria.Key == TraceKey.Nik ? nikHasher.Hash(value) : null;
        entries = criteria.Key switch
        {
            TraceKey.All => entries,
            TraceKey.Nik => entries.Where(e => e.NikHmac == nikHmac),
            TraceKey.ParticipantNumber => entries.Where(e => e.ParticipantNumber == value),
            TraceKey.MemberCode => entries.Where(e => e.ActingMember == value || e.MemberCode == value),
            TraceKey.LoanReference => entries.Where(e => e.LoanReference == value),
            TraceKey.BatchId => entries.Where(e => e.BatchId == value),
            TraceKey.CorrelationId => entries.Where(e => e.CorrelationId == value),
            TraceKey.EventType => entries.Where(e => e.EventType == value),
            _ => throw new ArgumentOutOfRangeException(nameof(criteria), criteria.Key, "Unknown trace key."),
        };
        if (criteria.Start is { } start)
        {
            entries = entries.Where(e => e.OccurredAt >= start);
        }

        if (criteria.End is { } end)
        {
            entries = entries.Where(e => e.OccurredAt < end);
        }

        return entries;
    }
}
