using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Platform.Data;

namespace Verification.Kur.Data;

internal static class KurWrites
{
    /// <summary>
    /// On SQLite, queues this process's writers of the file in memory (shared with the outbox relay): the file lock is
    /// only retried every 150 ms. Null on PostgreSQL, whose row locks do the queueing.
    /// </summary>
    public static async Task<SemaphoreSlim?> EnterWriteGateAsync(this KurDbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite()) return null;
        var gate = SqliteWriteGate.For(db.Database.GetConnectionString() ?? "");
        await gate.WaitAsync(cancellationToken);
        return gate;
    }

    public static bool IsUniqueViolation(this DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19, // SQLITE_CONSTRAINT: the (bank, loan) primary key
        _ => false,
    };
}
