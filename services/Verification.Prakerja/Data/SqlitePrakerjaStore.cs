using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;

namespace Verification.Prakerja.Data;

/// <summary>
/// The store on a SQLite file (monolithic mode): multi-row statements for recipient rows, and every write of the module,
/// EF Core's included, queued behind this process's other writers of the file.
/// </summary>
public sealed class SqlitePrakerjaStore : PrakerjaStore
{
    /// <summary>Rows per INSERT: Microsoft.Data.Sqlite looks each parameter up by name in a linear list, so wide statements cost quadratically.</summary>
    private const int RowsPerInsert = 16;

    private readonly string _connectionString;
#pragma warning disable CA2213 // The database file's gate, shared by every store on it for the process's life (SqliteWriteGate).
    private readonly SemaphoreSlim _writeGate;
#pragma warning restore CA2213

    public SqlitePrakerjaStore(ModuleDatabase database, IServiceScopeFactory scopes) : base(scopes)
    {
        var builder = new SqliteConnectionStringBuilder(database.ConnectionString);
        if (!database.ConnectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase)) builder.DefaultTimeout = 30;
        _connectionString = builder.ConnectionString;
        _writeGate = SqliteWriteGate.For(database.ConnectionString);
    }

    /// <summary>
    /// Queues this process's writers of the file (shared with the outbox relay and idempotent consumers): the file lock
    /// is only retried every 150 ms.
    /// </summary>
    protected override async Task<T> WriteAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            return await write();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override Task InsertRowsAsync(long batchKey, RecipientRowBuffer rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return Task.CompletedTask;
        return InTransactionAsync(async (connection, transaction) =>
        {
            await using var many = InsertCommand(connection, transaction, RowsPerInsert);
            await using var one = InsertCommand(connection, transaction, 1);
            var i = 0;
            for (; i + RowsPerInsert <= rows.Count; i += RowsPerInsert)
            {
                Bind(many, batchKey, rows, i, RowsPerInsert);
                await many.ExecuteNonQueryAsync(cancellationToken);
            }

            for (; i < rows.Count; i++)
            {
                Bind(one, batchKey, rows, i, 1);
                await one.ExecuteNonQueryAsync(cancellationToken);
            }

            return rows.Count;
        }, cancellationToken);
    }

    protected override Task<long> MarkRepeatedNiksAsync(long batchKey, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText =
                $"UPDATE prakerja_recipients SET status = {(int)RecipientStatus.DuplicateInBatch}, nik = NULL WHERE batch_key = $b AND row_offset IN (" +
                "SELECT row_offset FROM (SELECT row_offset, row_number() OVER (PARTITION BY nik ORDER BY row_offset) AS n FROM prakerja_recipients " +
                "WHERE batch_key = $b AND nik IS NOT NULL AND status = 0) WHERE n > 1)";
            command.Parameters.AddWithValue("$b", batchKey);
            command.CommandTimeout = 3600;
            return (long)await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    public override async Task<ChunkRecording> RecordChunkAsync(CheckedChunk chunk, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        try
        {
            return await InTransactionAsync(async (connection, transaction) =>
            {
                if (!await MarkChunkAsync(connection, transaction, chunk, cancellationToken)) return ChunkRecording.AlreadyRecorded;
                await using var update = connection.CreateCommand();
                update.Transaction = transaction;
                update.CommandText = "UPDATE prakerja_recipients SET status = $s, invalid_reason = $r, nik = NULL WHERE batch_key = $b AND row_offset = $o";
                update.Parameters.AddWithValue("$b", chunk.BatchKey);
                var o = update.Parameters.Add("$o", SqliteType.Integer);
                var s = update.Parameters.Add("$s", SqliteType.Integer);
                var r = update.Parameters.Add("$r", SqliteType.Integer);
                for (var i = 0; i < chunk.Offsets.Length; i++)
                {
                    o.Value = chunk.Offsets[i];
                    s.Value = (int)chunk.Statuses[i];
                    r.Value = (int)chunk.Reasons[i];
                    await update.ExecuteNonQueryAsync(cancellationToken);
                }

                await AddCohortCountsAsync(connection, transaction, chunk, cancellationToken);
                if (!await RenewLeaseAsync(connection, transaction, chunk.BatchKey, leaseOwner, leaseUntil.ToUnixTimeMilliseconds(), cancellationToken))
                    throw new LeaseLostException();
                return ChunkRecording.Recorded;
            }, cancellationToken);
        }
        catch (LeaseLostException)
        {
            // Thrown out of the transaction to roll it back.
            return ChunkRecording.LeaseLost;
        }
    }

    private sealed class LeaseLostException : Exception;

    public override Task<bool> AdvanceAsync(long batchKey, long end, string leaseOwner, CancellationToken cancellationToken) =>
        InTransactionAsync((connection, transaction) => AdvanceAsync(connection, transaction, batchKey, end, leaseOwner, cancellationToken), cancellationToken);

    protected override Task<long> DeleteRowSliceAsync(long batchKey, long from, long below, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM prakerja_recipients WHERE batch_key = $b AND row_offset >= $f AND row_offset < $t";
            command.Parameters.AddWithValue("$b", batchKey);
            command.Parameters.AddWithValue("$f", from);
            command.Parameters.AddWithValue("$t", below);
            return (long)await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    protected override Task DeleteChunkMarkersAsync(long batchKey, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM prakerja_batch_chunks WHERE batch_key = $b";
            command.Parameters.AddWithValue("$b", batchKey);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    protected override async Task<DbConnection> OpenRowsAsync(CancellationToken cancellationToken) => await OpenAsync(cancellationToken);

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask; // connections are opened per statement and pooled by the driver

    /// <summary>One write transaction of its own connection, in turn with this process's other writers of the file.</summary>
    private Task<T> InTransactionAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            var result = await write(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }, cancellationToken);

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private static SqliteCommand InsertCommand(SqliteConnection connection, SqliteTransaction transaction, int rows)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var sql = new StringBuilder("INSERT INTO prakerja_recipients (batch_key, row_offset, row_id, cohort_id, nik, status, invalid_reason) VALUES ");
        for (var r = 0; r < rows; r++)
        {
            var n = r.ToString(CultureInfo.InvariantCulture);
            sql.Append(r == 0 ? "" : ",").Append("($b,$o").Append(n).Append(",$i").Append(n).Append(",$c").Append(n)
                .Append(",$n").Append(n).Append(",$s").Append(n).Append(",$r").Append(n).Append(')');
            command.Parameters.Add("$o" + n, SqliteType.Integer);
            command.Parameters.Add("$i" + n, SqliteType.Text);
            command.Parameters.Add("$c" + n, SqliteType.Integer);
            command.Parameters.Add("$n" + n, SqliteType.Integer);
            command.Parameters.Add("$s" + n, SqliteType.Integer);
            command.Parameters.Add("$r" + n, SqliteType.Integer);
        }

        command.Parameters.Add("$b", SqliteType.Integer);
        command.CommandText = sql.ToString();
        return command;
    }

    private static void Bind(SqliteCommand command, long batchKey, RecipientRowBuffer rows, int start, int count)
    {
        var p = command.Parameters;
        p[count * 6].Value = batchKey;
        for (var r = 0; r < count; r++)
        {
            var i = start + r;
            p[r * 6].Value = rows.Offsets[i];
            p[r * 6 + 1].Value = rows.RowIds[i];
            p[r * 6 + 2].Value = rows.CohortIds[i];
            p[r * 6 + 3].Value = rows.Niks[i] == 0 ? DBNull.Value : rows.Niks[i];
            p[r * 6 + 4].Value = (int)rows.Statuses[i];
            p[r * 6 + 5].Value = (int)rows.Reasons[i];
        }
    }
}
