using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Kur.Data;

/// <summary>
/// The claims and answers of concurrent enrolments on PostgreSQL, coalesced: whatever is waiting is sent as one batch of
/// the same one-row statements (each with its event's outbox row), so under load they share one round trip and one
/// commit; when idle a write goes alone on its caller's thread, exactly as before. Each write still learns whether its own
/// row changed.
/// </summary>
/// <remarks>
/// A batch without an explicit transaction is one implicit transaction: all its writes commit or none. The writes of a batch
/// are sent in key order, so two batches touching the same loans take their row locks in the same order.
/// </remarks>
internal sealed class PostgresKurWrites : BackgroundService
{
    /// <summary>Most writes one batch carries: enough for every caller in flight at 64 callers.</summary>
    public const int MaxBatch = 128;

    /// <summary>One batch commits (and waits for its WAL flush) while the next gathers the writes that arrived meanwhile.</summary>
    public const int ConcurrentBatches = 2;

    private readonly NpgsqlDataSource _source;
    private readonly OutboxSignal<KurDbContext> _outbox;
    // Writes being sent now (batches and lone writes): while any is, a new write waits to join the next batch.
    private int _inFlight;

    private readonly Channel<Write> _pending = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

    public PostgresKurWrites(ModuleDatabase database, OutboxSignal<KurDbContext> outbox)
    {
        _source = NpgsqlDataSource.Create(PostgresRequestConnections.For(database.ConnectionString));
        _outbox = outbox;
    }

    /// <summary>
    /// Runs one single-row statement (built by <paramref name="statement"/>, which may be called again should the batch be
    /// settled write by write) and says whether it changed its row. A caller that gives up once its batch has started does
    /// not stop it: the write may still commit, as a single statement cancelled in flight could.
    /// </summary>
    public Task<bool> ExecuteAsync(string bankCode, string loanReference, Func<NpgsqlBatchCommand> statement, CancellationToken cancellationToken)
    {
        // Nothing in flight and nobody waiting: go alone on the caller's own thread, with no hop to a loop and back.
        if (Volatile.Read(ref _inFlight) == 0 && _pending.Reader.Count == 0) return ExecuteAloneAsync(statement, cancellationToken);
        var write = Write.For(bankCode, loanReference, statement, cancellationToken);
        if (!_pending.Writer.TryWrite(write)) throw new InvalidOperationException("KUR is shutting down.");
        return write.Changed.Task.WaitAsync(cancellationToken);
    }

    private async Task<bool> ExecuteAloneAsync(Func<NpgsqlBatchCommand> statement, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            await using var connection = await _source.OpenConnectionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { statement() } };
            if (await batch.ExecuteNonQueryAsync(cancellationToken) != 1) return false;
            _outbox.Notify();
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, ConcurrentBatches).Select(_ => Task.Run(() => RunAsync(stoppingToken), stoppingToken)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        while (_pending.Reader.TryRead(out var left)) left.Changed.TrySetCanceled(cancellationToken);
    }

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Write>(MaxBatch);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                Interlocked.Increment(ref _inFlight);
                try
                {
                    while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var write)) batch.Add(write);
                    await AnswerAsync(batch, stoppingToken);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var write in batch) write.Changed.TrySetCanceled(stoppingToken);
        }
    }

    /// <summary>
    /// Sends one window of writes: those whose callers already gave up are dropped unwritten; a database outage fails every
    /// write of the batch (rolled back as a whole, so each caller's retry is safe); any other failure is settled write by
    /// write, so one statement the database refuses fails only its own caller.
    /// </summary>
    internal async Task AnswerAsync(IReadOnlyList<Write> window, CancellationToken cancellationToken)
    {
        var live = new List<Write>(window.Count);
        foreach (var write in window)
        {
            if (write.CallerGaveUp.IsCancellationRequested) write.Changed.TrySetCanceled(write.CallerGaveUp);
            else live.Add(write);
        }

        if (live.Count == 0) return;
        try
        {
            await SendAsync(live, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (live.Count == 1 || DatabaseOutageInterceptor.IsOutage(ex))
        {
            foreach (var write in live) write.Changed.TrySetException(ex);
        }
        catch (Exception)
        {
            foreach (var write in live) await SendOneAsync(write, cancellationToken);
        }
    }

    private async Task SendOneAsync(Write write, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync([write], cancellationToken);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            write.Changed.TrySetException(ex);
        }
    }

    /// <summary>The writes as one batch in key order; each is answered with whether its row changed once the batch committed.</summary>
    private async Task SendAsync(List<Write> writes, CancellationToken cancellationToken)
    {
        List<Write> ordered = writes.Count == 1 ? writes : [.. writes.OrderBy(w => w.BankCode, StringComparer.Ordinal).ThenBy(w => w.LoanReference, StringComparer.Ordinal)];
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var write in ordered) batch.BatchCommands.Add(write.Statement());
        await batch.ExecuteNonQueryAsync(cancellationToken);
        var changed = false;
        for (var i = 0; i < ordered.Count; i++)
        {
            var one = batch.BatchCommands[i].RecordsAffected == 1;
            changed |= one;
            ordered[i].Changed.TrySetResult(one);
        }

        if (changed) _outbox.Notify();
    }

    /// <summary>One caller's write, its answer, and the caller's cancellation (only consulted before the batch begins).</summary>
    internal sealed record Write(string BankCode, string LoanReference, Func<NpgsqlBatchCommand> Statement, TaskCompletionSource<bool> Changed, CancellationToken CallerGaveUp)
    {
        public static Write For(string bankCode, string loanReference, Func<NpgsqlBatchCommand> statement, CancellationToken callerGaveUp = default) =>
            new(bankCode, loanReference, statement, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously), callerGaveUp);
    }
}
