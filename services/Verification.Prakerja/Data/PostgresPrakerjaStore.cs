using System.Data.Common;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;

namespace Verification.Prakerja.Data;

/// <summary>
/// The store on PostgreSQL: recipient rows by binary COPY, one array update per chunk, and a duplicate marking planned
/// without nested loops, on a data source of their own (auto-prepared statements).
/// </summary>
public sealed class PostgresPrakerjaStore : PrakerjaStore
{
    /// <summary>
    /// Uploads of at least this many rows have the table analysed before their batch is committed; for smaller ones the
    /// analysis (0.1-0.3 s: a 30,000-row sample, whatever the table's size) would cost more than it could save.
    /// </summary>
    public const long AnalyseFromRows = 100_000;

    /// <summary>The marking sorts every NIK of the batch: minutes at 13 M rows, and over 30 s (the default) for 100,000 under heavy load.</summary>
    private const int DuplicateMarkingTimeoutSeconds = 3600;

    /// <summary>Each row whose NIK appeared at an earlier offset of batch $1 becomes DUPLICATE_IN_BATCH and forgets its NIK.</summary>
    private static readonly string DuplicateMarkingSql =
        $"UPDATE prakerja_recipients r SET status = {(int)RecipientStatus.DuplicateInBatch}, nik = NULL FROM (" +
        "SELECT row_offset, row_number() OVER (PARTITION BY nik ORDER BY row_offset) AS n FROM prakerja_recipients " +
        "WHERE batch_key = $1 AND nik IS NOT NULL AND status = 0) d " +
        "WHERE r.batch_key = $1 AND r.row_offset = d.row_offset AND d.n > 1";

    private readonly NpgsqlDataSource _rows;

    public PostgresPrakerjaStore(ModuleDatabase database, IServiceScopeFactory scopes) : base(scopes)
    {
        var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
        builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 16);
        builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        _rows = builder.Build();
    }

    public override async Task InsertRowsAsync(long batchKey, RecipientRowBuffer rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        await using var connection = await _rows.OpenConnectionAsync(cancellationToken);
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
    }

    /// <summary>
    /// Autoanalyze comes when it comes: a large batch is brought into the planner's statistics before the worker plans over
    /// it (until then they describe the table without it, and the planner expects about one row for a new batch key).
    /// Skipped, not waited for, while another analysis or a vacuum holds the table (waiting would cancel autovacuum's vacuum).
    /// </summary>
    protected override async Task PrepareForProcessingAsync(long recipientCount, CancellationToken cancellationToken)
    {
        if (recipientCount < AnalyseFromRows) return;
        await using var command = _rows.CreateCommand("ANALYZE (SKIP_LOCKED) prakerja_recipients (batch_key, row_offset, nik, status)");
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task<long> MarkRepeatedNiksAsync(long batchKey, CancellationToken cancellationToken)
    {
        await using var connection = await _rows.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PlanMarkingAsWholeBatchJoinAsync(connection, transaction, cancellationToken);
        await using var command = new NpgsqlCommand(DuplicateMarkingSql, connection, transaction);
        command.Parameters.Add(PostgresParameters.Bigint(batchKey));
        command.CommandTimeout = DuplicateMarkingTimeoutSeconds;
        var marked = await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return marked;
    }

    /// <summary>The plan PostgreSQL would mark the batch's duplicates with now, as EXPLAIN prints it; nothing is changed (for tests).</summary>
    internal async Task<string> ExplainDuplicateMarkingAsync(long batchKey, CancellationToken cancellationToken)
    {
        await using var connection = await _rows.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await PlanMarkingAsWholeBatchJoinAsync(connection, transaction, cancellationToken);
        await using var command = new NpgsqlCommand("EXPLAIN " + DuplicateMarkingSql, connection, transaction);
        command.Parameters.Add(PostgresParameters.Bigint(batchKey));
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

    public override async Task<ChunkRecording> RecordChunkAsync(CheckedChunk chunk, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        await using var connection = await _rows.OpenConnectionAsync(cancellationToken);
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
            update.Parameters.Add(PostgresParameters.Bigint(chunk.BatchKey));
            update.Parameters.Add(PostgresParameters.Bigint(chunk.Start));
            update.Parameters.Add(PostgresParameters.Bigint(chunk.End));
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

    public override async Task<bool> AdvanceAsync(long batchKey, long end, string leaseOwner, CancellationToken cancellationToken)
    {
        await using var connection = await _rows.OpenConnectionAsync(cancellationToken);
        return await AdvanceAsync(connection, null, batchKey, end, leaseOwner, cancellationToken);
    }

    protected override async Task<long> DeleteRowSliceAsync(long batchKey, long from, long below, CancellationToken cancellationToken)
    {
        await using var command = _rows.CreateCommand("DELETE FROM prakerja_recipients WHERE batch_key = $1 AND row_offset >= $2 AND row_offset < $3");
        command.Parameters.Add(PostgresParameters.Bigint(batchKey));
        command.Parameters.Add(PostgresParameters.Bigint(from));
        command.Parameters.Add(PostgresParameters.Bigint(below));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task DeleteChunkMarkersAsync(long batchKey, CancellationToken cancellationToken)
    {
        await using var command = _rows.CreateCommand("DELETE FROM prakerja_batch_chunks WHERE batch_key = $1");
        command.Parameters.Add(PostgresParameters.Bigint(batchKey));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task<DbConnection> OpenRowsAsync(CancellationToken cancellationToken) => await _rows.OpenConnectionAsync(cancellationToken);

    public override ValueTask DisposeAsync() => _rows.DisposeAsync();
}
