using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Verification.Platform.Data;

/// <summary>
/// Puts every SQLite connection EF opens in WAL mode (readers never block the writer), so that concurrent
/// writers in one process only queue for the write lock.
/// </summary>
/// <remarks>
/// The busy timeout is Microsoft.Data.Sqlite's own: a command that meets SQLITE_BUSY is retried every 150 ms until
/// its command timeout (<see cref="BusyTimeoutSeconds"/>, the connection string's <c>Default Timeout</c>).
/// <c>PRAGMA busy_timeout</c> is deliberately not set: the e_sqlite3 in SourceGear.sqlite3 3.50.4.5 is built without
/// usleep, so SQLite's own busy handler sleeps whole seconds (measured: 160 contended transactions from 8 tasks took
/// 8.2 s with it, 1.8 s without).
/// </remarks>
public sealed class SqliteConnectionPragmas : DbConnectionInterceptor
{
    /// <summary>How long a writer waits for the write lock before failing; applied when the connection string has none.</summary>
    public const int BusyTimeoutSeconds = 30;

    public static SqliteConnectionPragmas Instance { get; } = new();

    internal const string Pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";

    /// <summary>Sets <c>Default Timeout</c> (the busy timeout) unless the connection string chose one.</summary>
    internal static string WithBusyTimeout(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.DefaultTimeout = BusyTimeoutSeconds;
        }

        return builder.ConnectionString;
    }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) =>
        Apply(connection);

    public override async Task ConnectionOpenedAsync(
        DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (connection is not SqliteConnection)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection)
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    /// <summary>Creates the directory of a file database so a fresh checkout starts without set-up.</summary>
    internal static void EnsureDirectory(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(dataSource) || dataSource == ":memory:" || dataSource.StartsWith("file:", StringComparison.Ordinal))
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }
}
