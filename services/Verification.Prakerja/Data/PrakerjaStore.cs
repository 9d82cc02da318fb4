using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;
using Verification.Contracts.Events;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Prakerja.Domain;

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
public sealed record CheckedChunk(long BatchKey, long Start, long End, long[] Offsets, short[] Statuses, short[] Reasons, IReadOnlyDictionary<int, RecipientCounts> Cohorts);

/// <summary>What an upload's half-close commits with its batch.</summary>
public sealed record UploadTotals(byte[] InputSha256, long RecipientCount, bool InputTruncated, string? IdempotencyKey, IReadOnlyDictionary<string, int> CohortIds);

/// <summary>A processing attempt that failed: the batch's failed attempts so far, and whether it is FAILED for good now.</summary>
public sealed record FailedAttempt(string BatchId, int Attempts, bool GaveUp);

/// <summary>A batch named both ways: its key inside the module, its id outside.</summary>
public sealed record BatchName(long BatchKey, string BatchId);

/// <summary>
/// The Prakerja module's data: batches and cohort totals through EF Core, and the recipient rows set-based outside it
/// (the hot path: never one round trip per recipient on PostgreSQL). Features see only this; the module's composition
/// picks <see cref="PostgresPrakerjaStore"/> or <see cref="SqlitePrakerjaStore"/> by the database's provider.
/// </summary>
public abstract class PrakerjaStore(IServiceScopeFactory scopes) : IAsyncDisposable
{
    /// <summary>The store for the module's database; <paramref name="scopes"/> give its pooled DbContexts.</summary>
    public static PrakerjaStore For(ModuleDatabase database, IServiceScopeFactory scopes) => database.Provider switch
    {
        DatabaseProvider.Postgres => new PostgresPrakerjaStore(database, scopes),
        DatabaseProvider.Sqlite => new SqlitePrakerjaStore(database, scopes),
        _ => throw new InvalidOperationException($"No Prakerja store for {database.Provider}."),
    };

    // ---- Uploads

    public Task<CrossCheckBatch?> FindByIdempotencyKeyAsync(string memberCode, string idempotencyKey, CancellationToken cancellationToken) =>
        ReadAsync(db => db.Batches.AsNoTracking()
            .SingleOrDefaultAsync(b => b.SubmitMemberCode == memberCode && b.IdempotencyKey == idempotencyKey, cancellationToken));

    /// <summary>Inserts the batch of an upload that has begun (state UPLOADING); sets its <see cref="CrossCheckBatch.BatchKey"/>.</summary>
    public Task StartUploadAsync(CrossCheckBatch batch, CancellationToken cancellationToken) =>
        WriteBatchesAsync(async db =>
        {
            db.Batches.Add(batch);
            return await db.SaveChangesAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>Inserts rows of an upload in one transaction.</summary>
    public abstract Task InsertRowsAsync(long batchKey, RecipientRowBuffer rows, CancellationToken cancellationToken);

    /// <summary>A sign of life of an upload in progress, so the sweep does not take it for an abandoned one.</summary>
    public Task TouchUploadAsync(long batchKey, DateTimeOffset at, CancellationToken cancellationToken) =>
        WriteBatchesAsync(db => db.Batches.Where(b => b.BatchKey == batchKey)
            .ExecuteUpdateAsync(u => u.SetProperty(b => b.UploadTouchTime, at), cancellationToken), cancellationToken);

    /// <summary>
    /// Makes the upload a PENDING batch with its digest, count, cohorts and idempotency key, in one transaction, once the
    /// rows are ready to be planned over; false when a concurrent upload committed the same key first (nothing written).
    /// </summary>
    public async Task<bool> CommitUploadAsync(long batchKey, UploadTotals totals, CancellationToken cancellationToken)
    {
        await PrepareForProcessingAsync(totals.RecipientCount, cancellationToken);
        try
        {
            await WriteBatchesAsync(async db =>
            {
                var batch = await db.Batches.SingleAsync(b => b.BatchKey == batchKey, cancellationToken);
                batch.State = BatchLifecycle.Pending;
                batch.InputSha256 = totals.InputSha256;
                batch.RecipientCount = totals.RecipientCount;
                batch.InputTruncated = totals.InputTruncated;
                batch.IdempotencyKey = totals.IdempotencyKey;
                foreach (var (cohort, id) in totals.CohortIds) db.Cohorts.Add(new BatchCohort { BatchKey = batchKey, CohortId = id, Cohort = cohort });
                return await db.SaveChangesAsync(cancellationToken);
            }, cancellationToken);
            return true;
        }
        catch (DbUpdateException ex) when (ex.IsUniqueViolation())
        {
            return false;
        }
    }

    /// <summary>Deletes an uncommitted upload: its rows, then its batch.</summary>
    public async Task DiscardUploadAsync(long batchKey, CancellationToken cancellationToken)
    {
        await DeleteRowsAsync(batchKey, cancellationToken);
        await WriteBatchesAsync(async db =>
        {
            await db.Batches.Where(b => b.BatchKey == batchKey && b.State == BatchLifecycle.Uploading).ExecuteDeleteAsync(cancellationToken);
            return await db.Cohorts.Where(c => c.BatchKey == batchKey).ExecuteDeleteAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Uploads silent since before <paramref name="silentSince"/>: their host crashed before the half-close.</summary>
    public Task<List<long>> AbandonedUploadsAsync(DateTimeOffset silentSince, CancellationToken cancellationToken) =>
        ReadAsync(db => db.Batches.AsNoTracking()
            .Where(b => b.State == BatchLifecycle.Uploading && b.UploadTouchTime < silentSince)
            .Select(b => b.BatchKey).ToListAsync(cancellationToken));

    // ---- Batches as the PMO sees them

    /// <summary>A submitted batch (never an upload in progress) with its cohorts' totals; null when there is none.</summary>
    public async Task<BatchReport?> ReportAsync(string batchId, CancellationToken cancellationToken)
    {
        if (await FindSubmittedAsync(batchId, cancellationToken) is not { } batch) return null;
        var cohorts = await ReadAsync(db => db.Cohorts.AsNoTracking().Where(c => c.BatchKey == batch.BatchKey).ToListAsync(cancellationToken));
        return new BatchReport(batch, cohorts);
    }

    /// <summary>A submitted batch (never an upload in progress); null when there is none.</summary>
    public Task<CrossCheckBatch?> FindSubmittedAsync(string batchId, CancellationToken cancellationToken) =>
        ReadAsync(db => db.Batches.AsNoTracking()
            .SingleOrDefaultAsync(b => b.BatchId == batchId && b.State != BatchLifecycle.Uploading, cancellationToken));

    /// <summary>Results in offset order from <paramref name="from"/> below <paramref name="below"/>, at most <paramref name="limit"/>, optionally only some statuses.</summary>
    public async Task<List<RecipientOutcome>> ReadResultsAsync(
        long batchKey, long from, long below, IReadOnlyCollection<RecipientStatus> filter, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder("SELECT row_offset, row_id, status, invalid_reason FROM prakerja_recipients WHERE batch_key = @b AND row_offset >= @f AND row_offset < @u");
        // The statuses are enum numbers, never caller text.
        if (filter.Count > 0) sql.Append(" AND status IN (").AppendJoin(',', filter.Select(s => ((int)s).ToString(CultureInfo.InvariantCulture))).Append(')');
        sql.Append(" ORDER BY row_offset LIMIT @l");
        var results = new List<RecipientOutcome>(Math.Min(limit, 4096));
        await using var connection = await OpenRowsAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql.ToString();
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@f", from);
        AddParameter(command, "@u", below);
        AddParameter(command, "@l", (long)limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        int offset = reader.GetOrdinal("row_offset"), rowId = reader.GetOrdinal("row_id"), status = reader.GetOrdinal("status"), reason = reader.GetOrdinal("invalid_reason");
        while (await reader.ReadAsync(cancellationToken))
        {
            results.Add(new RecipientOutcome(
                reader.GetInt64(offset), reader.GetString(rowId), (RecipientStatus)reader.GetInt32(status), (InvalidNikReason)reader.GetInt32(reason)));
        }

        return results;
    }

    // ---- The worker

    /// <summary>Takes the oldest batch with work whose lease is free or ran out at <paramref name="now"/>; null when there is none.</summary>
    public async Task<long?> ClaimAsync(string leaseOwner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var candidates = await ReadAsync(db => db.Batches.AsNoTracking()
            .Where(b => (b.State == BatchLifecycle.Pending || b.State == BatchLifecycle.Running) && (b.LeaseUntil == null || b.LeaseUntil < now))
            .OrderBy(b => b.BatchKey).Select(b => b.BatchKey).Take(5).ToListAsync(cancellationToken));
        foreach (var key in candidates)
        {
            var claimed = await WriteBatchesAsync(db => db.Batches
                .Where(b => b.BatchKey == key && (b.State == BatchLifecycle.Pending || b.State == BatchLifecycle.Running) && (b.LeaseUntil == null || b.LeaseUntil < now))
                .ExecuteUpdateAsync(u => u.SetProperty(b => b.LeaseOwner, leaseOwner).SetProperty(b => b.LeaseUntil, leaseUntil), cancellationToken), cancellationToken);
            if (claimed == 1) return key;
        }

        return null;
    }

    /// <summary>The batch as stored now.</summary>
    public Task<CrossCheckBatch> GetAsync(long batchKey, CancellationToken cancellationToken) =>
        ReadAsync(db => db.Batches.AsNoTracking().SingleAsync(b => b.BatchKey == batchKey, cancellationToken));

    /// <summary>Gives the lease back at once (shutting down), instead of after it runs out.</summary>
    public Task HandBackAsync(long batchKey, string leaseOwner, CancellationToken cancellationToken) =>
        WriteBatchesAsync(db => db.Batches.Where(b => b.BatchKey == batchKey && b.LeaseOwner == leaseOwner)
            .ExecuteUpdateAsync(u => u.SetProperty(b => b.LeaseOwner, (string?)null).SetProperty(b => b.LeaseUntil, (DateTimeOffset?)null), cancellationToken), cancellationToken);

    /// <summary>
    /// Counts a failed processing attempt and gives the lease up until <paramref name="retryAfter"/>; at
    /// <paramref name="giveUpAt"/> attempts the batch is FAILED, its results kept until <paramref name="expireTime"/>.
    /// Null when the lease is no longer <paramref name="leaseOwner"/>'s.
    /// </summary>
    public Task<FailedAttempt?> RecordFailedAttemptAsync(
        long batchKey, string leaseOwner, DateTimeOffset retryAfter, int giveUpAt, DateTimeOffset expireTime, CancellationToken cancellationToken) =>
        WriteBatchesAsync<FailedAttempt?>(async db =>
        {
            var batch = await db.Batches.SingleAsync(b => b.BatchKey == batchKey, cancellationToken);
            if (batch.LeaseOwner != leaseOwner) return null;
            batch.LeaseOwner = null;
            batch.LeaseUntil = retryAfter;
            var gaveUp = ++batch.FailedAttempts >= giveUpAt && batch.State is BatchLifecycle.Pending or BatchLifecycle.Running;
            if (gaveUp)
            {
                batch.State = BatchLifecycle.Failed;
                batch.CompleteTime = null;
                batch.ExpireTime = expireTime;
            }

            await db.SaveChangesAsync(cancellationToken);
            return new FailedAttempt(batch.BatchId, batch.FailedAttempts, gaveUp);
        }, cancellationToken);

    /// <summary>
    /// Marks every row whose NIK appeared at an earlier offset of the batch as DUPLICATE_IN_BATCH and forgets its NIK
    /// (the first occurrence keeps it for the registry), then flags the batch RUNNING with its duplicates marked.
    /// </summary>
    public async Task<long> MarkDuplicatesAsync(long batchKey, string leaseOwner, CancellationToken cancellationToken)
    {
        var marked = await MarkRepeatedNiksAsync(batchKey, cancellationToken);
        // Marking again is harmless (it only finds repeats still waiting), so the flag needs no transaction with it.
        await WriteBatchesAsync(db => db.Batches.Where(b => b.BatchKey == batchKey && b.LeaseOwner == leaseOwner)
            .ExecuteUpdateAsync(u => u.SetProperty(b => b.DuplicatesMarked, true).SetProperty(b => b.State, BatchLifecycle.Running), cancellationToken), cancellationToken);
        return marked;
    }

    /// <summary>Reads rows [start, end) of a batch into <paramref name="into"/> (cleared first), in offset order.</summary>
    public async Task ReadChunkAsync(long batchKey, long start, long end, RecipientRowBuffer into, CancellationToken cancellationToken)
    {
        into.Clear();
        await using var connection = await OpenRowsAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT row_offset, cohort_id, nik, status, invalid_reason FROM prakerja_recipients " +
            "WHERE batch_key = @b AND row_offset >= @s AND row_offset < @e ORDER BY row_offset";
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@s", start);
        AddParameter(command, "@e", end);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        int offset = reader.GetOrdinal("row_offset"), cohort = reader.GetOrdinal("cohort_id"), nik = reader.GetOrdinal("nik"),
            status = reader.GetOrdinal("status"), reason = reader.GetOrdinal("invalid_reason");
        while (await reader.ReadAsync(cancellationToken))
        {
            into.Add(reader.GetInt64(offset), "", reader.GetInt32(cohort), reader.IsDBNull(nik) ? 0 : reader.GetInt64(nik),
                (short)reader.GetInt32(status), (short)reader.GetInt32(reason));
        }
    }

    /// <summary>
    /// Records one chunk in one transaction: its marker (so a chunk is counted once, whoever records it and however often),
    /// the rows' results (their NIKs forgotten), the cohorts' counts, and the renewed lease. Chunks of a batch may be
    /// recorded concurrently and out of order; <see cref="AdvanceAsync"/> then moves the progress over the recorded prefix.
    /// </summary>
    public abstract Task<ChunkRecording> RecordChunkAsync(CheckedChunk chunk, string leaseOwner, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Moves the batch's progress to <paramref name="end"/> (every chunk below it is recorded); false when the lease is lost.</summary>
    public abstract Task<bool> AdvanceAsync(long batchKey, long end, string leaseOwner, CancellationToken cancellationToken);

    /// <summary>
    /// Completes a fully processed batch held by <paramref name="leaseOwner"/>: COMPLETED, its times, the lease freed and
    /// <paramref name="completed"/>'s event in the outbox, in one transaction. Null when it is not this owner's to complete.
    /// </summary>
    public Task<BatchReport?> CompleteAsync(long batchKey, string leaseOwner, DateTimeOffset now, DateTimeOffset expireTime,
        Func<BatchReport, PrakerjaBatchCompleted> completed, CancellationToken cancellationToken) =>
        WriteBatchesAsync<BatchReport?>(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var batch = await db.Batches.SingleAsync(b => b.BatchKey == batchKey, cancellationToken);
            if (batch.LeaseOwner != leaseOwner || batch.State is not (BatchLifecycle.Pending or BatchLifecycle.Running) || batch.ProcessedCount != batch.RecipientCount)
                return null;
            var cohorts = await db.Cohorts.AsNoTracking().Where(c => c.BatchKey == batchKey).ToListAsync(cancellationToken);
            batch.State = BatchLifecycle.Completed;
            batch.CompleteTime = now;
            batch.ExpireTime = expireTime;
            batch.LeaseOwner = null;
            batch.LeaseUntil = null;
            var report = new BatchReport(batch, cohorts);
            db.AddOutboxEvent(completed(report));
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return report;
        }, cancellationToken);

    /// <summary>COMPLETED and FAILED batches whose retention ended by <paramref name="now"/>.</summary>
    public async Task<List<BatchName>> ExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expired = await ReadAsync(db => db.Batches.AsNoTracking()
            .Where(b => (b.State == BatchLifecycle.Completed || b.State == BatchLifecycle.Failed) && b.ExpireTime != null && b.ExpireTime <= now)
            .Select(b => new { b.BatchKey, b.BatchId }).ToListAsync(cancellationToken));
        return [.. expired.Select(b => new BatchName(b.BatchKey, b.BatchId))];
    }

    /// <summary>Deletes the batch's rows, then makes it EXPIRED (totals and digest remain); returns how many rows went.</summary>
    public async Task<long> PurgeAsync(long batchKey, CancellationToken cancellationToken)
    {
        // Rows first: a crash in between leaves a batch that is purged again, never an EXPIRED batch still holding rows.
        var deleted = await DeleteRowsAsync(batchKey, cancellationToken);
        await WriteBatchesAsync(db => db.Batches.Where(b => b.BatchKey == batchKey)
            .ExecuteUpdateAsync(u => u.SetProperty(b => b.State, BatchLifecycle.Expired), cancellationToken), cancellationToken);
        return deleted;
    }

    // ---- For tests and checks

    /// <summary>How many rows the batch still has.</summary>
    public Task<long> CountRowsAsync(long batchKey, CancellationToken cancellationToken) =>
        CountAsync("SELECT count(*) FROM prakerja_recipients WHERE batch_key = @b", batchKey, cancellationToken);

    /// <summary>How many rows of the batch still hold a NIK (none once the batch is complete).</summary>
    public Task<long> CountRowsHoldingNikAsync(long batchKey, CancellationToken cancellationToken) =>
        CountAsync("SELECT count(*) FROM prakerja_recipients WHERE batch_key = @b AND nik IS NOT NULL", batchKey, cancellationToken);

    // ---- What each provider does its own way

    /// <summary>Marks the batch's repeated NIKs in one statement (the database sorts, whatever the batch size); returns how many.</summary>
    protected abstract Task<long> MarkRepeatedNiksAsync(long batchKey, CancellationToken cancellationToken);

    /// <summary>Deletes rows [from, below) of a batch; returns how many.</summary>
    protected abstract Task<long> DeleteRowSliceAsync(long batchKey, long from, long below, CancellationToken cancellationToken);

    /// <summary>Deletes a batch's chunk markers.</summary>
    protected abstract Task DeleteChunkMarkersAsync(long batchKey, CancellationToken cancellationToken);

    /// <summary>An open connection for reading recipient rows.</summary>
    protected abstract Task<DbConnection> OpenRowsAsync(CancellationToken cancellationToken);

    /// <summary>What the provider needs before a batch of <paramref name="recipientCount"/> rows is handed to the worker.</summary>
    protected virtual Task PrepareForProcessingAsync(long recipientCount, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs one write of this module's database, in turn with this process's other writers where the provider needs it.</summary>
    protected virtual Task<T> WriteAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken) => write();

    // ---- Shared by the providers' statements

    /// <summary>Deletes a batch's rows (results and any NIK still waiting) in slices, so no statement runs long; returns how many.</summary>
    protected async Task<long> DeleteRowsAsync(long batchKey, CancellationToken cancellationToken)
    {
        const long slice = 50_000;
        long deleted = 0, from = 0;
        while (true)
        {
            var affected = await DeleteRowSliceAsync(batchKey, from, from + slice, cancellationToken);
            deleted += affected;
            if (affected == 0 && !await AnyRowFromAsync(batchKey, from, cancellationToken))
            {
                await DeleteChunkMarkersAsync(batchKey, cancellationToken);
                return deleted;
            }

            from += slice;
        }
    }

    /// <summary>Inserts the chunk's marker; false when the chunk was already recorded.</summary>
    protected static async Task<bool> MarkChunkAsync(DbConnection connection, DbTransaction transaction, CheckedChunk chunk, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO prakerja_batch_chunks (batch_key, chunk_start) VALUES (@b, @s) ON CONFLICT DO NOTHING";
        AddParameter(command, "@b", chunk.BatchKey);
        AddParameter(command, "@s", chunk.Start);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <param name="leaseUntil">The renewed lease in the provider's representation (timestamptz, or Unix milliseconds on SQLite).</param>
    protected static async Task<bool> RenewLeaseAsync(DbConnection connection, DbTransaction transaction, long batchKey, string leaseOwner, object leaseUntil, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE prakerja_batches SET lease_until = @l WHERE batch_key = @b AND lease_owner = @o AND state IN ('PENDING', 'RUNNING')";
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@o", leaseOwner);
        AddParameter(command, "@l", leaseUntil);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    protected static async Task AddCohortCountsAsync(DbConnection connection, DbTransaction transaction, CheckedChunk chunk, CancellationToken cancellationToken)
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
            AddParameter(command, "@c", cohortId); // an int: the column's own type on both providers
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    protected const string AdvanceSql = "UPDATE prakerja_batches SET processed_count = @e, state = 'RUNNING' " +
        "WHERE batch_key = @b AND lease_owner = @o AND processed_count < @e AND state IN ('PENDING', 'RUNNING')";

    protected static async Task<bool> AdvanceAsync(DbConnection connection, DbTransaction? transaction, long batchKey, long end, string leaseOwner, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = AdvanceSql;
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@e", end);
        AddParameter(command, "@o", leaseOwner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    protected static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private async Task<bool> AnyRowFromAsync(long batchKey, long from, CancellationToken cancellationToken)
    {
        await using var connection = await OpenRowsAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM prakerja_recipients WHERE batch_key = @b AND row_offset >= @f LIMIT 1";
        AddParameter(command, "@b", batchKey);
        AddParameter(command, "@f", from);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private async Task<long> CountAsync(string sql, long batchKey, CancellationToken cancellationToken)
    {
        await using var connection = await OpenRowsAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        AddParameter(command, "@b", batchKey);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<T> ReadAsync<T>(Func<PrakerjaDbContext, Task<T>> read)
    {
        // A context of the module's pool per operation: the store outlives requests, the worker runs outside them.
        await using var scope = scopes.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>());
    }

    private Task<T> WriteBatchesAsync<T>(Func<PrakerjaDbContext, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync(() => ReadAsync(write), cancellationToken);

    public abstract ValueTask DisposeAsync();
}
