using System.Threading.Channels;
using Verification.Audit.Data;
using Verification.Platform.Data;

namespace Verification.Audit.Features.Append;

/// <summary>
/// Queues delivered events for the appender with one commit per group of concurrent deliveries (group commit): every
/// consumer still returns only once its own event is durable, but a hundred deliveries cost one transaction, not a
/// hundred. Events are idempotent on their id, so a group that fails is simply retried by the bus.
/// </summary>
/// <remarks>
/// Not a hosted service on purpose: it stops when the container is disposed, after the bus, so consumers still running
/// during shutdown get their answer instead of a failure that would send their message to the error queue.
/// </remarks>
public sealed class PendingEventWriter : IAsyncDisposable, IDisposable
{
    /// <summary>Most events in one transaction.</summary>
    public const int MaxGroup = 1000;

    private readonly ModuleDatabase _database;
    private readonly AppendSignal _signal;
    private readonly Channel<Queued> _queue = Channel.CreateUnbounded<Queued>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writing;

    public PendingEventWriter(ModuleDatabase database, AppendSignal signal)
    {
        _database = database;
        _signal = signal;
        _writing = Task.Run(WriteAsync);
    }

    /// <summary>Returns when the event is committed to the pending table (or was already there, or in the log).</summary>
    public async Task QueueAsync(PendingEvent pending, CancellationToken cancellationToken)
    {
        var queued = new Queued(pending, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(queued), this);

        await queued.Committed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Returns when every one of the events is committed (a batch's events usually in one group, at most two).</summary>
    public async Task QueueManyAsync(IReadOnlyList<PendingEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var committed = new Task[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var queued = new Queued(events[i], new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(queued), this);
            committed[i] = queued.Committed.Task;
        }

        await Task.WhenAll(committed).WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writing;
    }

    /// <summary>Stops taking events; what is queued is still written.</summary>
    public void Dispose() => _queue.Writer.TryComplete();

    private async Task WriteAsync()
    {
        var group = new List<Queued>(MaxGroup);
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Whatever arrived while the previous group was committing forms the next group.
            while (group.Count < MaxGroup && _queue.Reader.TryRead(out var queued))
            {
                group.Add(queued);
            }

            try
            {
                await CommitAsync(group);
                foreach (var queued in group)
                {
                    queued.Committed.TrySetResult();
                }

                _signal.Notify();
            }
            catch (Exception ex)
            {
                foreach (var queued in group)
                {
                    queued.Committed.TrySetException(ex);
                }
            }

            group.Clear();
        }
    }

    private async Task CommitAsync(List<Queued> group)
    {
        var gate = AuditConnections.SqliteGate(_database);
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        try
        {
            // Not cancellable: the consumers waiting on this group decide for themselves how long to wait.
            await using var connection = await AuditConnections.OpenAsync(_database, pooled: true, CancellationToken.None);
            await using var transaction = await connection.BeginTransactionAsync();
            await LogTables.InsertPendingAsync(connection, transaction, [.. group.Select(q => q.Event)], CancellationToken.None);
            await transaction.CommitAsync();
        }
        finally
        {
            gate?.Release();
        }
    }

    private sealed record Queued(PendingEvent Event, TaskCompletionSource Committed);
}
