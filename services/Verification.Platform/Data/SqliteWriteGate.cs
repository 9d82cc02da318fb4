using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Verification.Platform.Data;

/// <summary>
/// Queues this process's platform writers (idempotent consumers, the relay's marks) for one SQLite file in memory,
/// instead of letting them collide on the file lock, which Microsoft.Data.Sqlite only retries every 150 ms.
/// </summary>
public static class SqliteWriteGate
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    public static SemaphoreSlim For(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var key = dataSource is ":memory:" or "" || dataSource.StartsWith("file:", StringComparison.Ordinal)
            ? connectionString
            : Path.GetFullPath(dataSource);
        return Gates.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
    }
}
