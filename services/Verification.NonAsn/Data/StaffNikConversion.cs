using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Verification.NonAsn.Data;

/// <summary>
/// Seals the NIKs of employments written before staff NIKs were kept at rest as hash and sealed value
/// (migration 0002): runs after the module's migrations and before the module serves, so no call ever reads a clear NIK.
/// </summary>
public sealed partial class StaffNikConversion(IServiceScopeFactory scopes, StaffNikCipher cipher, ILogger<StaffNikConversion> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NonAsnDbContext>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var sqlite = db.Database.IsSqlite();
            if (sqlite) await ExecuteAsync(connection, "PRAGMA secure_delete = ON", cancellationToken);
            var legacy = new List<(string EmploymentId, string Nik)>();
            await using (var select = connection.CreateCommand())
            {
                select.CommandText = "SELECT employment_id, nik_hash FROM nonasn_employments WHERE nik_sealed IS NULL";
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken)) legacy.Add((reader.GetString(0), reader.GetString(1)));
            }

            if (legacy.Count == 0) return;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var (employmentId, nik) in legacy)
            {
                await using var update = connection.CreateCommand();
                update.Transaction = transaction;
                // Guarded by nik_sealed IS NULL: a replica converting at the same time leaves one consistent pair.
                update.CommandText = "UPDATE nonasn_employments SET nik_hash = @hash, nik_sealed = @sealed WHERE employment_id = @id AND nik_sealed IS NULL";
                Add(update, "@hash", cipher.Hash(nik));
                Add(update, "@sealed", cipher.Seal(nik, employmentId));
                Add(update, "@id", employmentId);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            if (sqlite) await ExecuteAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken);
            LogSealed(logger, legacy.Count);
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

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, string value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sealed the NIKs of {Count} employment(s) stored before NIKs were kept at rest as hash and sealed value")]
    private static partial void LogSealed(ILogger logger, int count);
}
