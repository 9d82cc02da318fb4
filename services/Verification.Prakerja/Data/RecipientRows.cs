using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;

namespace Verification.Prakerja.Data;

/// <summary>How recording a chunk ended.</summary>
public enum ChunkRecording
{
    Recorded,

    /// <summary>Its marker was there: recorded earlier (e.g. before a crash, above the progress then saved).</summary>
    AlreadyRecorded,

    /// <summary>Another worker holds the batch now; nothing was written.</summary>
    LeaseLost,
}

/// <summary>A chunk's results to record: which rows got which status, and the chunk's counts per cohort.</summary>
public sealed record CheckedChunk(long BatchKey, long Start, long End, long[] Offsets, short[] Statuses, short[] Reasons, IReadOnlyDictionary<int, Domain.RecipientCounts> Cohorts);

/// <summary>
/// Set-based reads and writes of <c>prakerja_recipients</c>, outside EF Core (this is the hot path): binary COPY and
/// array parameters on PostgreSQL, multi-row statements on SQLite. Never one round trip per recipient on PostgreSQL.
/// </summary>
public sealed class RecipientRows : IAsyncDisposable
{
    /// <summary>Rows per SQLite INSERT: Microsoft.Data.Sqlite looks each parameter up by name in a linear list, so wide statements cost quadratically.</summary>
    private const int SqliteRowsPerInsert = 16;

    /// <summary>
    /// Uploads of at least this many rows have the table analysed before their batch is committed; for smaller ones the
    /// analysis (0.1-0.3 s: a 30,000-row sample, whatever the table's size) would cost more than it could save.
    /// </summary>
    public const long AnalyseFromRows = 100_000;

    private readonly ModuleDatabase _database;
    private readonly NpgsqlDataSource? _postgres;
    private readonly string _sqlite = "";

    public RecipientRows(ModuleDatabase database)
    {
        _database = database;
        if (database.Provider == DatabaseProvider.Postgres)
        {
            var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
            builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 16);
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            _postgres = builder.Build();
        }
        else
        {
            var builder = new SqliteConnectionStringBuilder(database.ConnectionString);
            if (!database.ConnectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase)) builder.DefaultTimeout = 30;
            _sqlite = builder.ConnectionString;
        }
    }

    public bool IsPostgres => _postgres is not null;

    /// <summary>Inserts buffered rows in one transaction.</summary>
    public async Task InsertAsync(long batchKey, RecipientRowBuffer rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        if (_postgres is not null)
        {
            await using var connection = await _postgres.OpenConnectionAsync(cancellationToken);
            await using var import = await connection.BeginBinaryImportAsync(
                "COPY prakerja_recipients (batch_key, row_offset, row_id, cohort_id, nik, status, invalid_reason) FROM STDIN (FORMAT BINARY)", cancellationToken);
            for (var i = 0; i < rows.Count; i++)
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(batchKey, NpgsqlDbType.Bigint, cancellationToken);
                await import.WriteAsync(rows.Offsets[i], NpgsqlDbType.Bigint, cancellationToken);
                await import.WriteAsync(rows.RowIds[i], NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(rows.CohortIds[i], NpgsqlDbType.Integer, cancellationToken);
                if (rows.Niks[i] == 0) await import.WriteNullAsync(cancellationToken);
                else await import.WriteAsync(rows.Niks[i], NpgsqlDbType.Bigint, cancellationToken);
                await import.WriteAsync(rows.Statuses[i], NpgsqlDbType.Smallint, cancellationToken);
                await import.WriteAsync(rows.Reasons[i], NpgsqlDbType.Smallint, cancellationToken);
            }

            await import.CompleteAsync(cancellationToken);
            return;
        }

        await WithSqliteWriteAsync(async (connection, transaction) =>
        {
            await using var many = InsertCommand(connection, transaction, SqliteRowsPerInsert);
            await using var one = InsertCommand(connection, transaction, 1);
            var i = 0;
            for (; i + SqliteRowsPerInsert <= rows.Count; i += SqliteRowsPerInsert)
            {
                Bind(many, batchKey, rows, i, SqliteRowsPerInsert);
                await many.ExecuteNonQueryAsync(cancellationToken);
            }

            for (; i < rows.Count; i++)
            {
                Bind(one, batchKey, rows, i, 1);
                await one.ExecuteNonQueryAsync(cancellationToken);
            }
        }, cancellationToken);
    }

    /// <summary>Each row whose NIK appeared at an earlier offset of batch $1 becomes DUPLICATE_IN_BATCH and forgets its NIK.</summary>
    private static readonly string DuplicateMarkingSql =
        $"UPDATE prakerja_recipients r SET status = {(int)RecipientStatus.DuplicateInBatch}, nik = NULL FROM (" +
        "SELECT row_offset, row_number() OVER (PARTITION BY nik ORDER BY row_offset) AS n FROM prakerja_recipients " +
        "WHERE batch_key = $1 AND nik IS NOT NULL AND status = 0) d " +
        "WHERE r.batch_key = $1 AND r.row_offset = d.row_offset AND d.n > 1";

    /// <summary>
    /// Brings the planner's statistics up to the batches loaded since autoanalyze last ran: until it does, they describe
    /// the table without them, and the planner expects about one row for a new batch key. Skipped, not waited for, while
    /// another analysis or a vacuum holds the table (waiting would cancel autovacuum's vacuum after a second).
    /// </summary>
    public async Task AnalyseAsync(CancellationToken cancellationToken)
    {
        // SQLite keeps no statistics unless asked to, and its plan for the marking does not depend on them.
        if (_postgres is null) return;
        await using var command = _postgres.CreateCommand("ANALYZE (SKIP_LOCKED) prakerja_recipients (batch_key, row_offset, nik, status)");
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Marks every row whose NIK appeared at an earlier offset of the batch as DUPLICATE_IN_BATCH and forgets its NIK;
    /// the first occurrence keeps it for the registry. One statement: the database sorts, whatever the batch size.
    /// </summary>
    public async Task<long> MarkDuplicatesAsync(long batchKey, CancellationToken cancellationToken)
    {
        const int DuplicateMarkingTimeoutSeconds = 3600;
        var duplicate = (int)RecipientStatus.DuplicateInBatch;
        if (_postgres is not null)
        {
            await using var connection = await _postgres.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await PlanMarkingAsWholeBatchJoinAsync(connection, transaction, cancellationToken);
            await using var command = new NpgsqlCommand(DuplicateMarkingSql, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = batchKey });
            // Sorts every NIK of the batch: minutes at 13 M rows, and over 30 s (the default) for 100,000 under heavy load.
            command.CommandTimeout = DuplicateMarkingTimeoutSeconds;
            var markedRows = await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return markedRows;
        }

        long marked = 0;
        await WithSqliteWriteAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText =
                $"UPDATE prakerja_recipients SET status = {duplicate}, nik = NULL WHERE batch_key = $b AND row_offset IN (" +
                "SELECT row_offset FROM (SELECT row_offset, row_number() OVER (PARTITION BY nik ORDER BY row_offset) AS n FROM prakerja_recipients " +
                "WHERE batch_key = $b AND nik IS NOT NULL AND status = 0) WHERE n > 1)";
            command.Parameters.AddWithValue("$b", batchKey);
            command.CommandTimeout = DuplicateMarkingTimeoutSeconds;
            marked = await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return marked;
    }

    /// <summary>The plan PostgreSQL would mark the batch's duplicates with now, as EXPLAIN prints it; nothing is changed (for tests).</summary>
    internal async Task<string> ExplainDuplicateMarkingAsync(long batchKey, CancellationToken cancellationToken)
    {
        if (_postgres is null) throw new InvalidOperationException("Plans are PostgreSQL's.");
        await using var connection = await _postgres.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PlanMarkingAsWholeBatchJoinAsync(connection, transaction, cancellationToken);
        await using var command = new NpgsqlCommand("EXPLAIN " + DuplicateMarkingSql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = batchKey });
        var plan = new StringBuilder();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken)) plan.AppendLine(reader.GetString(0));
        await transaction.RollbackAsync(cancellationToken);
        return plan.ToString();
    }

    /// <summary>
    /// For the marking's transaction: no nested loop, and a plan made for this batch's key. The marking joins the batch to
    /// its own NIKs sorted by a window; a nested loop runs that sort again for every row of the batch (quadratic: more than
    /// five minutes for a second batch of 1 M), and the planner takes it whenever it expects about one row, as on
    /// statistics that predate the batch. A hash or merge join is linear in the batch whatever the estimates.
    /// </summary>
    private static async Task PlanMarkingAsWholeBatchJoinAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var settings = new NpgsqlCommand(
            "SELECT set_config('enable_nestloop', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)", connection, transaction);
        await settings.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Reads rows [start, end) of a batch into <paramref name="into"/> (cleared first), in offset order.</summary>
    public async Task ReadChunkAsync(long batchKey, long start, long end, RecipientRowBuffer into, CancellationToken cancellationToken)
    {
        into.Clear();
        const string sql = "SELECT row_offset, cohort_id, nik, status, invalid_reason FROM prakerja_recipients " +
            "WHERE batch_key = @b AND row_offset >= @s AND row_offset < @e ORDER BY row_offset";
        await using var lease = await OpenReadAsync(cancellationToken);
        await using var command = lease.Connection.CreateCommand();
        command.CommandText = sql;
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@s", start);
        AddParameter(command, "@e", end);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            into.Add(reader.GetInt64(0), "", reader.GetInt32(1), reader.IsDBNull(2) ? 0 : reader.GetInt64(2),
                (short)reader.GetInt32(3), (short)reader.GetInt32(4));
        }
    }

    /// <summary>
    /// Records one chunk in one transaction: its marker (so a chunk is counted once, whoever records it and however often),
    /// the rows' results (their NIKs forgotten), the cohorts' counts, and the renewed lease. Chunks of a batch may be
    /// recorded concurrently and out of order; <see cref="AdvanceAsync"/> then moves the progress over the recorded prefix.
    /// </summary>
    public async Task<ChunkRecording> RecordChunkAsync(CheckedChunk chunk, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            await using var connection = await _postgres.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // A chunk whose commit a crash loses is simply checked again (its marker goes with it): this transaction
            // need not wait for the WAL flush (the batch's completion, with its event, does).
            await using (var asynchronous = new NpgsqlCommand("SET LOCAL synchronous_commit = off", connection, transaction))
                await asynchronous.ExecuteNonQueryAsync(cancellationToken);
            if (!await MarkChunkAsync(connection, transaction, chunk, cancellationToken)) return ChunkRecording.AlreadyRecorded;
            if (chunk.Offsets.Length > 0)
            {
                // The chunk's range by primary key, each row's result by its position in the arrays: no join to plan.
                var statuses = new short[chunk.End - chunk.Start];
                var reasons = new short[statuses.Length];
                for (var i = 0; i < chunk.Offsets.Length; i++)
                {
                    statuses[chunk.Offsets[i] - chunk.Start] = chunk.Statuses[i];
                    reasons[chunk.Offsets[i] - chunk.Start] = chunk.Reasons[i];
                }

                await using var update = new NpgsqlCommand(
                    "UPDATE prakerja_recipients SET status = ($4::smallint[])[row_offset - $2 + 1], invalid_reason = ($5::smallint[])[row_offset - $2 + 1], nik = NULL " +
                    "WHERE batch_key = $1 AND row_offset >= $2 AND row_offset < $3 AND status = 0",
                    connection, transaction);
                update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chunk.BatchKey });
                update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chunk.Start });
                update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = chunk.End });
                update.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = statuses });
                update.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = reasons });
                var updated = await update.ExecuteNonQueryAsync(cancellationToken);
                if (updated != chunk.Offsets.Length) throw new InvalidOperationException($"A chunk's update touched {updated} rows, not {chunk.Offsets.Length}.");
            }

            // Row locks on the shared rows (cohorts, then the batch) are taken last, in one order, and held only to the commit.
            await AddCohortCountsAsync(connection, transaction, chunk, cancellationToken);
            if (!await RenewLeaseAsync(connection, transaction, chunk.BatchKey, leaseOwner, leaseUntil.UtcDateTime, cancellationToken)) return ChunkRecording.LeaseLost;
            await transaction.CommitAsync(cancellationToken);
            return ChunkRecording.Recorded;
        }

        var outcome = ChunkRecording.LeaseLost;
        try
        {
            await WithSqliteWriteAsync(async (connection, transaction) =>
        {
            if (!await MarkChunkAsync(connection, transaction, chunk, cancellationToken))
            {
                outcome = ChunkRecording.AlreadyRecorded;
                return;
            }

            await using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText = "UPDATE prakerja_recipients SET status = $s, invalid_reason = $r, nik = NULL WHERE batch_key = $b AND row_offset = $o";
            var b = update.Parameters.AddWithValue("$b", chunk.BatchKey);
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
            outcome = ChunkRecording.Recorded;
            }, cancellationToken);
        }
        catch (LeaseLostException)
        {
            // Thrown out of the SQLite transaction to roll it back.
        }

        return outcome;
    }

    /// <summary>Moves the batch's progress to <paramref name="end"/> (every chunk below it is recorded); false when the lease is lost.</summary>
    public async Task<bool> AdvanceAsync(long batchKey, long end, string leaseOwner, CancellationToken cancellationToken)
    {
        const string sql = "UPDATE prakerja_batches SET processed_count = @e, state = 'RUNNING' " +
            "WHERE batch_key = @b AND lease_owner = @o AND processed_count < @e AND state IN ('PENDING', 'RUNNING')";
        if (_postgres is not null)
        {
            await using var connection = await _postgres.OpenConnectionAsync(cancellationToken);
            return await AdvanceAsync(connection, null, sql, batchKey, end, leaseOwner, cancellationToken);
        }

        var advanced = false;
        await WithSqliteWriteAsync(async (connection, transaction) => advanced = await AdvanceAsync(connection, transaction, sql, batchKey, end, leaseOwner, cancellationToken), cancellationToken);
        return advanced;
    }

    private static async Task<bool> AdvanceAsync(DbConnection connection, DbTransaction? transaction, string sql, long batchKey, long end, string leaseOwner, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@e", end);
        AddParameter(command, "@o", leaseOwner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private sealed class LeaseLostException : Exception;

    /// <summary>Results in offset order from <paramref name="from"/> below <paramref name="below"/>, at most <paramref name="limit"/>, optionally only some statuses.</summary>
    public async Task<List<RecipientResult>> ReadResultsAsync(
        long batchKey, long from, long below, IReadOnlyCollection<RecipientStatus> filter, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder("SELECT row_offset, row_id, status, invalid_reason FROM prakerja_recipients WHERE batch_key = @b AND row_offset >= @f AND row_offset < @u");
        // The statuses are enum numbers, never caller text.
        if (filter.Count > 0) sql.Append(" AND status IN (").AppendJoin(',', filter.Select(s => ((int)s).ToString(CultureInfo.InvariantCulture))).Append(')');
        sql.Append(" ORDER BY row_offset LIMIT @l");
        var results = new List<RecipientResult>(Math.Min(limit, 4096));
        await using var lease = await OpenReadAsync(cancellationToken);
        await using var command = lease.Connection.CreateCommand();
        command.CommandText = sql.ToString();
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@f", from);
        AddParameter(command, "@u", below);
        AddParameter(command, "@l", (long)limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            results.Add(new RecipientResult
            {
                Offset = reader.GetInt64(0),
                RowId = reader.GetString(1),
                Status = (RecipientStatus)reader.GetInt32(2),
                InvalidNikReason = (InvalidNikReason)reader.GetInt32(3),
            });
        }

        return results;
    }

    /// <summary>Deletes a batch's rows (results and any NIK still waiting) in slices, so no statement runs long; returns how many.</summary>
    public async Task<long> DeleteAsync(long batchKey, CancellationToken cancellationToken)
    {
        const long slice = 50_000;
        long deleted = 0, from = 0;
        while (true)
        {
            long affected = 0;
            if (_postgres is not null)
            {
                await using var command = _postgres.CreateCommand("DELETE FROM prakerja_recipients WHERE batch_key = $1 AND row_offset >= $2 AND row_offset < $3");
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = batchKey });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from + slice });
                affected = await command.ExecuteNonQueryAsync(cancellationToken);
            }
            else
            {
                await WithSqliteWriteAsync(async (connection, transaction) =>
                {
                    await using var command = connection.CreateCommand();
                    command.Transaction = transaction;
                    command.CommandText = "DELETE FROM prakerja_recipients WHERE batch_key = $b AND row_offset >= $f AND row_offset < $t";
                    command.Parameters.AddWithValue("$b", batchKey);
                    command.Parameters.AddWithValue("$f", from);
                    command.Parameters.AddWithValue("$t", from + slice);
                    affected = await command.ExecuteNonQueryAsync(cancellationToken);
                }, cancellationToken);
            }

            deleted += affected;
            if (affected == 0 && !await AnyFromAsync(batchKey, from, cancellationToken))
            {
                await DeleteChunkMarkersAsync(batchKey, cancellationToken);
                return deleted;
            }
            from += slice;
        }
    }

    private async Task DeleteChunkMarkersAsync(long batchKey, CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            await using var command = _postgres.CreateCommand("DELETE FROM prakerja_batch_chunks WHERE batch_key = $1");
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = batchKey });
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        await WithSqliteWriteAsync(async (connection, transaction) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM prakerja_batch_chunks WHERE batch_key = $b";
            command.Parameters.AddWithValue("$b", batchKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>How many rows the batch still has (for tests and the purge's check).</summary>
    public async Task<long> CountAsync(long batchKey, CancellationToken cancellationToken)
    {
        await using var lease = await OpenReadAsync(cancellationToken);
        await using var command = lease.Connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM prakerja_recipients WHERE batch_key = @b";
        AddParameter(command, "@b", batchKey);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>How many rows of the batch still hold a NIK (for tests: none once the batch is complete).</summary>
    public async Task<long> CountWithNikAsync(long batchKey, CancellationToken cancellationToken)
    {
        await using var lease = await OpenReadAsync(cancellationToken);
        await using var command = lease.Connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM prakerja_recipients WHERE batch_key = @b AND nik IS NOT NULL";
        AddParameter(command, "@b", batchKey);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<bool> AnyFromAsync(long batchKey, long from, CancellationToken cancellationToken)
    {
        await using var lease = await OpenReadAsync(cancellationToken);
        await using var command = lease.Connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM prakerja_recipients WHERE batch_key = @b AND row_offset >= @f LIMIT 1";
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@f", from);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Inserts the chunk's marker; false when the chunk was already recorded.</summary>
    private static async Task<bool> MarkChunkAsync(DbConnection connection, DbTransaction transaction, CheckedChunk chunk, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO prakerja_batch_chunks (batch_key, chunk_start) VALUES (@b, @s) ON CONFLICT DO NOTHING";
        AddParameter(command, "@b", chunk.BatchKey);
        AddParameter(command, "@s", chunk.Start);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <param name="leaseUntil">The renewed lease in the provider's representation (timestamptz, or Unix milliseconds on SQLite).</param>
    private static async Task<bool> RenewLeaseAsync(DbConnection connection, DbTransaction transaction, long batchKey, string leaseOwner, object leaseUntil, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE prakerja_batches SET lease_until = @l WHERE batch_key = @b AND lease_owner = @o AND state IN ('PENDING', 'RUNNING')";
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@o", leaseOwner);
        AddParameter(command, "@l", leaseUntil);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task AddCohortCountsAsync(DbConnection connection, DbTransaction transaction, CheckedChunk chunk, CancellationToken cancellationToken)
    {
        foreach (var (cohortId, counts) in chunk.Cohorts.OrderBy(c => c.Key))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE prakerja_batch_cohorts SET recipients = recipients + @n, not_registered = not_registered + @nr, " +
                "active_wage_earner = active_wage_earner + @aw, active_non_wage_earner = active_non_wage_earner + @an, inactive = inactive + @in, " +
                "invalid_nik = invalid_nik + @iv, duplicate_in_batch = duplicate_in_batch + @du WHERE batch_key = @b AND cohort_id = @c";
            AddParameter(command, "@n", counts.Recipients);
            AddParameter(command, "@nr", counts.NotRegistered);
            AddParameter(command, "@aw", counts.ActiveWageEarner);
            AddParameter(command, "@an", counts.ActiveNonWageEarner);
            AddParameter(command, "@in", counts.Inactive);
            AddParameter(command, "@iv", counts.InvalidNik);
            AddParameter(command, "@du", counts.DuplicateInBatch);
            AddParameter(command, "@b", chunk.BatchKey);
            AddParameter(command, "@c", (long)cohortId);
            if (connection is NpgsqlConnection) ((NpgsqlParameter)command.Parameters["@c"]).NpgsqlDbType = NpgsqlDbType.Integer;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
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

    /// <summary>One SQLite write transaction, queued behind this process's other writers of the file.</summary>
    private async Task WithSqliteWriteAsync(Func<SqliteConnection, SqliteTransaction, Task> write, CancellationToken cancellationToken)
    {
        var gate = SqliteWriteGate.For(_sqlite);
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenSqliteAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await write(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<SqliteConnection> OpenSqliteAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_sqlite);
        await connection.OpenAsync(cancellationToken);
        await using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private async Task<ConnectionLease> OpenReadAsync(CancellationToken cancellationToken) =>
        new(_postgres is not null ? await _postgres.OpenConnectionAsync(cancellationToken) : await OpenSqliteAsync(cancellationToken));

    private sealed class ConnectionLease(DbConnection connection) : IAsyncDisposable
    {
        public DbConnection Connection { get; } = connection;

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null) await _postgres.DisposeAsync();
    }

    public override string ToString() => _database.ToString();
}
