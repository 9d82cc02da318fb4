using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Verification.Platform.Data;

/// <summary>What every module's writers share: the SQLite write gate and telling a unique violation from other failures.</summary>
public static class ModuleWrites
{
    /// <summary>
    /// On SQLite, queues this process's writers of the file in memory (shared with the outbox relay): the file lock
    /// is only retried every 150 ms. Null on PostgreSQL, whose row locks do the queueing.
    /// </summary>
    public static async Task<SemaphoreSlim?> EnterWriteGateAsync(this DbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite()) return null;
        var gate = SqliteWriteGate.For(db.Database.GetConnectionString() ?? "");
        await gate.WaitAsync(cancellationToken);
        return gate;
    }

    /// <summary>
    /// A key committed concurrently: EF's <see cref="DbUpdateException"/> around the provider's error, or a binary
    /// <c>COPY</c>'s <see cref="PostgresException"/> as Npgsql throws it.
    /// </summary>
    public static bool IsUniqueViolation(this Exception exception) => exception switch
    {
        DbUpdateException { InnerException: { } inner } => inner.IsUniqueViolation(),
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19, // SQLITE_CONSTRAINT
        _ => false,
    };
}
