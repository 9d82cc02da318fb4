using Npgsql;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Kur.Data;

/// <summary>
/// The claims and answers of concurrent enrolments on PostgreSQL, coalesced: whatever is waiting is sent as one batch of
/// the same one-row statements (each with its event's outbox row), so under load they share one round trip and one
/// commit; when idle a write goes alone on its caller's thread, exactly as before. Each write still learns whether its own
/// row changed. Its connections run KUR's statements by key only (the lookup's too), each planned once per connection:
/// <see cref="PostgresRequestConnections.ForKeyedStatements"/>.
/// </summary>
/// <remarks>
/// A batch without an explicit transaction is one implicit transaction: all its writes commit or none. The writes of a batch
/// are sent in key order, so two batches touching the same loans take their row locks in the same order.
/// </remarks>
internal sealed class PostgresKurWrites : CoalescedWrites<PostgresKurWrites.Write, bool>
{
    /// <summary>Most writes one batch carries: enough for every caller in flight at 64 callers.</summary>
    public const int MaxBatch = 128;

    /// <summary>One batch commits (and waits for its WAL flush) while the next gathers the writes that arrived meanwhile.</summary>
    public const int ConcurrentBatches = 2;

    private readonly NpgsqlDataSource _source;
    private readonly OutboxSignal<KurDbContext> _outbox;

    public PostgresKurWrites(ModuleDatabase database, OutboxSignal<KurDbContext> outbox)
        : base(MaxBatch, ConcurrentBatches, "KUR is shutting down.")
    {
        _source = NpgsqlDataSource.Create(PostgresRequestConnections.ForKeyedStatements(database.ConnectionString));
        _outbox = outbox;
    }

    /// <summary>
    /// Runs one single-row statement (built by <paramref name="statement"/>, which may be called again should the batch be
    /// settled write by write) and says whether it changed its row. A caller that gives up once its batch has started does
    /// not stop it: the write may still commit, as a single statement cancelled in flight could. Only a write that
    /// <paramref name="carriesEvent"/> (an outbox row in its statement) wakes the relay: a bare claim has nothing to publish.
    /// </summary>
    public Task<bool> ExecuteAsync(string bankCode, string loanReference, Func<NpgsqlBatchCommand> statement, bool carriesEvent, CancellationToken cancellationToken) =>
        SubmitAsync(Write.For(bankCode, loanReference, statement, carriesEvent, cancellationToken), cancellationToken);

    /// <summary>A connection for a statement by key that is not a write (the lookup), with the same plans.</summary>
    public ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _source.OpenConnectionAsync(cancellationToken);

    protected override async Task<bool> WriteAloneAsync(Write write, CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { write.Statement() } };
        if (await batch.ExecuteNonQueryAsync(cancellationToken) != 1) return false;
        if (write.CarriesEvent) _outbox.Notify();
        return true;
    }

    /// <summary>The writes as one batch in key order; each is answered with whether its row changed once the batch committed.</summary>
    protected override async Task WriteTogetherAsync(List<Write> writes, CancellationToken cancellationToken)
    {
        List<Write> ordered = [.. writes.OrderBy(w => w.BankCode, StringComparer.Ordinal).ThenBy(w => w.LoanReference, StringComparer.Ordinal)];
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var write in ordered) batch.BatchCommands.Add(write.Statement());
        await batch.ExecuteNonQueryAsync(cancellationToken);
        var published = false;
        for (var i = 0; i < ordered.Count; i++)
        {
            var one = batch.BatchCommands[i].RecordsAffected == 1;
            published |= one && ordered[i].CarriesEvent;
            ordered[i].Result.TrySetResult(one);
        }

        if (published) _outbox.Notify();
    }

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }

    /// <summary>One caller's write, its answer, and the caller's cancellation (only consulted before the batch begins).</summary>
    internal sealed record Write(string BankCode, string LoanReference, Func<NpgsqlBatchCommand> Statement, bool CarriesEvent, CancellationToken CallerGaveUp) : CoalescedWrite<bool>(CallerGaveUp)
    {
        public static Write For(string bankCode, string loanReference, Func<NpgsqlBatchCommand> statement, bool carriesEvent = true, CancellationToken callerGaveUp = default) =>
            new(bankCode, loanReference, statement, carriesEvent, callerGaveUp);
    }
}
