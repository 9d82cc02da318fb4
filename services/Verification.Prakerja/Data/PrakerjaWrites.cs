using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Verification.Platform.Data;

namespace Verification.Prakerja.Data;

internal static class PrakerjaWrites
{
    /// <summary>
    /// On SQLite, queues this process's writers of the file in memory (shared with the outbox relay and
    /// <see cref="RecipientRows"/>): the file lock is only retried every 150 ms. Null on PostgreSQL.
    /// </summary>
    public static async Task<SemaphoreSlim?> EnterWriteGateAsync(this PrakerjaDbContext db, CancellationToken cancellationToken)
    {
        if (!db.Database.IsSqlite()) return null;
        var gate = SqliteWriteGate.For(db.Database.GetConnectionString() ?? "");
        await gate.WaitAsync(cancellationToken);
        return gate;
    }

    public static bool IsUniqueViolation(this DbUpdateException exception) => exception.InnerException switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sqlite => sqlite.SqliteErrorCode == 19,
        _ => false,
    };
}
