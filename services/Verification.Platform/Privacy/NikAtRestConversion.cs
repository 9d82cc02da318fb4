using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Verification.Platform.Privacy;

/// <summary>
/// Seals, at start, the NIKs a module stored before it kept them at rest as hash and sealed value: runs after the module's
/// migrations and before it serves, so no call ever reads a clear NIK. On SQLite deleted pages are zeroed while it runs
/// and the write-ahead log is emptied after, so no clear copy stays in the files. NonAsn's staff and Rentan's workers.
/// </summary>
public abstract class NikAtRestConversion<TContext>(IServiceScopeFactory scopes) : IHostedLifecycleService
    where TContext : DbContext
{
    /// <summary>Seals the module's unsealed rows in one transaction on <paramref name="connection"/>; false when there were none.</summary>
    protected abstract Task<bool> ConvertAsync(DbConnection connection, bool sqlite, CancellationToken cancellationToken);

    /// <summary>Whether the SQLite file must be rewritten after converting (pages freed before secure_delete was on).</summary>
    protected virtual bool VacuumAfterConversion => false;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var sqlite = db.Database.IsSqlite();
            if (sqlite) await ExecuteAsync(connection, "PRAGMA secure_delete = ON", cancellationToken);
            if (!await ConvertAsync(connection, sqlite, cancellationToken) || !sqlite) return;
            if (VacuumAfterConversion) await ExecuteAsync(connection, "VACUUM", cancellationToken);
            await ExecuteAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
