using Microsoft.EntityFrameworkCore;
using Verification.Audit.Data;

namespace Verification.Audit.Features.Read;

/// <summary>Consecutive entries and the latest signed tree head.</summary>
public sealed class LogReader(AuditDbContext db)
{
    public Task<List<LogEntry>> EntriesAsync(long fromIndex, int count, CancellationToken cancellationToken) =>
        db.Entries.AsNoTracking()
            .Where(e => e.Index >= fromIndex)
            .OrderBy(e => e.Index)
            .Take(count)
            .ToListAsync(cancellationToken);

    public Task<StoredTreeHead?> LatestTreeHeadAsync(CancellationToken cancellationToken) =>
        db.TreeHeads.AsNoTracking().OrderByDescending(h => h.TreeSize).FirstOrDefaultAsync(cancellationToken);
}
