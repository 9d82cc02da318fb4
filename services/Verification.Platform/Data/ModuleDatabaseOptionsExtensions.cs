using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Verification.Platform.Data;

public static class ModuleDatabaseOptionsExtensions
{
    /// <inheritdoc cref="UseModuleDatabase(DbContextOptionsBuilder, ModuleDatabase)"/>
    public static DbContextOptionsBuilder<TContext> UseModuleDatabase<TContext>(
        this DbContextOptionsBuilder<TContext> options, ModuleDatabase database)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)UseModuleDatabase((DbContextOptionsBuilder)options, database);

    /// <summary>Points a DbContext at a module's database on its provider (SQLite gets WAL and a busy timeout).</summary>
    public static DbContextOptionsBuilder UseModuleDatabase(this DbContextOptionsBuilder options, ModuleDatabase database)
    {
        switch (database.Provider)
        {
            case DatabaseProvider.Sqlite:
                SqliteConnectionPragmas.EnsureDirectory(database.ConnectionString);
                options.UseSqlite(SqliteConnectionPragmas.WithBusyTimeout(database.ConnectionString));
                options.AddInterceptors(SqliteConnectionPragmas.Instance);
                break;
            case DatabaseProvider.Postgres:
                options.UseNpgsql(PostgresRequestConnections.For(database.ConnectionString));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(database), database.Provider, "Unknown database provider.");
        }

        // A failed command is the caller's to judge: a unique violation is an expected idempotency race, an outage becomes
        // UNAVAILABLE, and what nobody handles is logged once by the RPC layer, not three times with the key values.
        options.ConfigureWarnings(warnings => warnings.Log(
            (RelationalEventId.CommandError, LogLevel.Debug),
            (CoreEventId.SaveChangesFailed, LogLevel.Debug),
            (CoreEventId.QueryIterationFailed, LogLevel.Debug)));
        return options;
    }
}
