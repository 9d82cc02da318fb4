using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Verification.Platform.Data;

namespace Verification.Audit.Data;

/// <summary>Raw connections to the audit database for the write paths that bypass EF.</summary>
public static class AuditConnections
{
    /// <summary>
    /// An open connection. <paramref name="pooled"/> false gives PostgreSQL a connection of its own, whose close ends the
    /// session (and any session lock); SQLite connections get the platform's pragmas and busy timeout.
    /// </summary>
    public static async Task<DbConnection> OpenAsync(ModuleDatabase database, bool pooled, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        DbConnection connection = database.Provider switch
        {
            DatabaseProvider.Postgres => new NpgsqlConnection(pooled
                ? database.ConnectionString
                : new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString),
            _ => new SqliteConnection(SqliteWithTimeout(database.ConnectionString)),
        };
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (connection is SqliteConnection)
            {
                await using var pragmas = connection.CreateCommand();
                pragmas.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
                await pragmas.ExecuteNonQueryAsync(cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The in-process queue for SQLite writers of this database; null on PostgreSQL.</summary>
    public static SemaphoreSlim? SqliteGate(ModuleDatabase database) =>
        database.Provider == DatabaseProvider.Sqlite ? SqliteWriteGate.For(database.ConnectionString) : null;

    private static string SqliteWithTimeout(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.DefaultTimeout = SqliteConnectionPragmas.BusyTimeoutSeconds;
        }

        return builder.ConnectionString;
    }
}
