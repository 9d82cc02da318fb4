using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Verification.Platform.Data;

namespace Verification.Platform.Outbox;

/// <summary>
/// Publishes one module's pending outbox rows to the bus in creation order, marks them published, and backs off
/// while the broker (or the database) is unavailable. Delivery is at least once: a crash between the publish and
/// the mark leaves the row pending and it is published again, which consumers absorb by EventId.
/// </summary>
/// <remarks>
/// On PostgreSQL each round runs in a transaction that takes its rows with <c>FOR UPDATE SKIP LOCKED</c>, so any
/// number of relay instances share the work and never hold the same row at once. On SQLite (one process per file)
/// a round reads without holding the write lock during the publish, and rounds of this instance never overlap.
/// Rows are published in sequence order, up to <see cref="OutboxOptions.PublishConcurrency"/> at once, so the broker
/// may receive neighbours out of order; with several instances, or writers whose commits finish out of sequence order,
/// neither is order kept across rounds: consumers must not rely on it.
/// </remarks>
public sealed partial class OutboxRelay<TContext>(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal<TContext> signal,
    OutboxEventTypes eventTypes,
    IOptionsMonitor<OutboxOptions> optionsMonitor,
    ILogger<OutboxRelay<TContext>> logger)
    : BackgroundService, IHostedLifecycleService
    where TContext : DbContext
{
    private const string PendingRowsSql =
        "SELECT * FROM outbox_messages WHERE published_at IS NULL ORDER BY sequence_id LIMIT {0} FOR UPDATE SKIP LOCKED";

    private readonly OutboxOptions options = optionsMonitor.Get(OutboxNames.OptionsOf<TContext>());
    private readonly SemaphoreSlim round = new(1, 1);
    private readonly TaskCompletionSource hostStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset nextPurgeAt = DateTimeOffset.MinValue;

    private static readonly string OutboxName = OutboxNames.TagOf<TContext>();

    /// <summary>Publishes until nothing is pending (or only rows that cannot be published); used on graceful shutdown.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        var failures = 0;
        while (true)
        {
            var result = await PublishRoundAsync(cancellationToken);
            total += result.Published;
            if (result.Failed)
            {
                failures++;
                await Task.Delay(Backoff(failures), cancellationToken);
                continue;
            }

            failures = 0;
            if (!result.MoreWaiting)
            {
                await MeasureLagAsync(cancellationToken);
                return total;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The bus and every module's schema are ready once the host has started.
        await hostStarted.Task.WaitAsync(stoppingToken);
        var failures = 0;
        var waitForBus = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (waitForBus)
                {
                    await WaitForBusReadyAsync(stoppingToken);
                    waitForBus = false;
                }

                var result = await PublishRoundAsync(stoppingToken);
                if (result.Failed)
                {
                    failures++;
                    await Task.Delay(Backoff(failures), stoppingToken);
                    // The broker was away: its queues and bindings may be declared again only once the bus reconnects.
                    waitForBus = true;
                    continue;
                }

                failures = 0;
                if (result.MoreWaiting)
                {
                    continue;
                }

                await MeasureLagAsync(stoppingToken);
                await PurgeIfDueAsync(stoppingToken);
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                LogRoundFailed(ex, OutboxName, failures);
                try
                {
                    await Task.Delay(Backoff(failures), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Waits (at most <see cref="OutboxOptions.BusReadyWait"/>) until every receive endpoint of this process's bus has
    /// declared its queue and bindings: the broker drops a publish that no binding matches, so an event published before
    /// then never reaches this process's own consumers on a first start, or after the broker came back empty.
    /// </summary>
    private async Task WaitForBusReadyAsync(CancellationToken cancellationToken)
    {
        if (bus is not IBusControl control)
        {
            return;
        }

        var until = DateTimeOffset.UtcNow + options.BusReadyWait;
        while (control.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            if (DateTimeOffset.UtcNow >= until)
            {
                LogBusNotReady(OutboxName, options.BusReadyWait);
                return;
            }

            await Task.Delay(BusReadyPoll, cancellationToken);
        }
    }

    private static readonly TimeSpan BusReadyPoll = TimeSpan.FromMilliseconds(50);

    private async Task<RoundResult> PublishRoundAsync(CancellationToken cancellationToken)
    {
        await round.WaitAsync(cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            var locking = db.Database.IsNpgsql();
            await using var transaction = locking ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
            var rows = locking
                ? await db.Set<OutboxMessage>().FromSqlRaw(PendingRowsSql, options.BatchSize).AsNoTracking().ToListAsync(cancellationToken)
                : await db.Set<OutboxMessage>()
                    .AsNoTracking()
                    .Where(m => m.PublishedAt == null)
                    .OrderBy(m => m.SequenceId)
                    .Take(options.BatchSize)
                    .ToListAsync(cancellationToken);
            if (rows.Count == 0)
            {
                return new RoundResult(0, Failed: false, MoreWaiting: false);
            }

            var (published, notPublished, failed) = await PublishRowsAsync(rows, cancellationToken);

            // Not cancellable: what the broker confirmed must be marked even while the host is stopping.
            var sqliteGate = locking ? null : SqliteWriteGate.For(db.Database.GetConnectionString() ?? "");
            if (sqliteGate is not null)
            {
                await sqliteGate.WaitAsync(CancellationToken.None);
            }

            try
            {
                await MarkAsync(db, published, notPublished);
            }
            finally
            {
                sqliteGate?.Release();
            }

            if (transaction is not null)
            {
                await transaction.CommitAsync(CancellationToken.None);
            }

            return new RoundResult(published.Count, failed, MoreWaiting: !failed && published.Count > 0 && rows.Count == options.BatchSize);
        }
        finally
        {
            round.Release();
        }
    }

    /// <summary>
    /// Publishes the rows in sequence order with up to <see cref="OutboxOptions.PublishConcurrency"/> awaiting their
    /// confirms at once (a sliding window: a new publish starts as soon as the oldest in flight is answered); after the
    /// first broker failure no new publish starts, and those in flight are awaited and counted.
    /// </summary>
    private async Task<(List<long> Published, List<OutboxMessage> NotPublished, bool Failed)> PublishRowsAsync(
        List<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var published = new List<long>(rows.Count);
        var notPublished = new List<OutboxMessage>();
        var failed = false;
        var stopped = false;
        var inFlight = new Queue<(OutboxMessage Row, Task<PublishOutcome> Outcome)>(options.PublishConcurrency);
        var next = 0;
        while (next < rows.Count || inFlight.Count > 0)
        {
            while (next < rows.Count && inFlight.Count < options.PublishConcurrency && !failed && !stopped)
            {
                var row = rows[next++];
                inFlight.Enqueue((row, PublishOneAsync(row, cancellationToken)));
            }

            if (inFlight.Count == 0)
            {
                break;
            }

            var (done, outcome) = inFlight.Dequeue();
            switch (await outcome)
            {
                case PublishOutcome.Published:
                    published.Add(done.SequenceId);
                    break;
                case PublishOutcome.Stopped:
                    stopped = true;
                    break;
                case PublishOutcome.BrokerUnavailable:
                    failed = true;
                    notPublished.Add(done);
                    break;
                default:
                    notPublished.Add(done);
                    break;
            }
        }

        return (published, notPublished, failed);
    }

    /// <summary>Marks the confirmed rows published and clears their payloads with one statement; the others get an attempt and their error.</summary>
    private static async Task MarkAsync(TContext db, List<long> published, List<OutboxMessage> notPublished)
    {
        if (published.Count > 0)
        {
            var now = DateTimeOffset.UtcNow;
            await db.Set<OutboxMessage>()
                .Where(m => published.Contains(m.SequenceId))
                // The payload goes in the same statement: a published row keeps only what a diagnosis needs (type, id, times), never personal data.
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.PublishedAt, now).SetProperty(m => m.Payload, "").SetProperty(m => m.LastError, (string?)null), CancellationToken.None);
        }

        foreach (var row in notPublished)
        {
            var error = row.LastError;
            await db.Set<OutboxMessage>()
                .Where(m => m.SequenceId == row.SequenceId)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.Attempts, m => m.Attempts + 1).SetProperty(m => m.LastError, error), CancellationToken.None);
        }
    }

    private async Task<PublishOutcome> PublishOneAsync(OutboxMessage row, CancellationToken cancellationToken)
    {
        if (!eventTypes.TryResolve(row.MessageType, out var messageType))
        {
            row.LastError = $"Unknown message type '{row.MessageType}': is its assembly registered with OutboxEventTypes?";
            LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
            return PublishOutcome.Unpublishable;
        }

        object message;
        Dictionary<string, string> headers;
        try
        {
            message = JsonSerializer.Deserialize(row.Payload, messageType, OutboxEventTypes.PayloadJson)
                ?? throw new JsonException("The payload is null.");
            headers = JsonSerializer.Deserialize<Dictionary<string, string>>(row.Headers, OutboxEventTypes.PayloadJson) ?? [];
        }
        catch (JsonException ex)
        {
            row.LastError = Truncate($"Unreadable payload: {ex.Message}");
            LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
            return PublishOutcome.Unpublishable;
        }

        // The request that wrote the row is the parent of the publish, even though it finished long ago.
        headers.TryGetValue(OutboxHeaders.TraceParent, out var traceParent);
        headers.TryGetValue(OutboxHeaders.TraceState, out var traceState);
        ActivityContext.TryParse(traceParent, traceState, out var parent);
        using var activity = OutboxTelemetry.ActivitySource.StartActivity(
            $"{messageType.Name} publish", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.operation.type", "publish");
        activity?.SetTag("messaging.message.id", row.EventId.ToString());
        activity?.SetTag("verification.outbox", OutboxName);
        if (activity is not null)
        {
            headers[OutboxHeaders.TraceParent] = activity.Id!;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.PublishTimeout);
        try
        {
            // WaitAsync as well as the token: a publish the client library fails to cancel must not hold the round.
            await bus.Publish(message, messageType, Pipe.Execute<PublishContext>(context =>
            {
                context.MessageId = row.EventId;
                foreach (var (name, value) in headers)
                {
                    context.Headers.Set(name, value);
                }
            }), timeout.Token).WaitAsync(options.PublishTimeout + TimeSpan.FromSeconds(1), cancellationToken);
            OutboxTelemetry.RecordPublished(OutboxName, messageType.Name);
            return PublishOutcome.Published;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PublishOutcome.Stopped;
        }
        catch (Exception ex)
        {
            row.LastError = Truncate($"{ex.GetType().Name}: {ex.Message}");
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            OutboxTelemetry.RecordFailure(OutboxName, messageType.Name);
            LogPublishFailed(OutboxName, row.SequenceId, row.Attempts + 1, row.LastError);
            return PublishOutcome.BrokerUnavailable;
        }
    }

    private async Task MeasureLagAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var pending = scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>()
            .AsNoTracking()
            .Where(m => m.PublishedAt == null);
        var count = await pending.LongCountAsync(cancellationToken);
        DateTimeOffset? oldest = count == 0
            ? null
            : await pending.OrderBy(m => m.SequenceId).Select(m => m.CreatedAt).FirstOrDefaultAsync(cancellationToken);
        OutboxTelemetry.RecordLag(OutboxName, count, oldest);
    }

    private async Task PurgeIfDueAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        if (now < nextPurgeAt)
        {
            return;
        }

        nextPurgeAt = now + options.PurgeInterval;
        var cutoff = now - options.PublishedRetention;
        await using var scope = scopes.CreateAsyncScope();
        var purged = await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>()
            .Where(m => m.PublishedAt != null && m.PublishedAt < cutoff)
            .ExecuteDeleteAsync(cancellationToken);
        if (purged > 0)
        {
            LogPurged(OutboxName, purged);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var exponential = options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20));
        var capped = Math.Min(exponential, options.MaxBackoff.TotalMilliseconds);
        // Jitter, so relays of many modules do not hit a recovering broker in step.
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000];

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        hostStarted.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>Runs before any hosted service stops, so the bus is still up while the relay drains.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ShutdownFlushTimeout);
        try
        {
            await FlushAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            LogFlushIncomplete(OutboxName);
        }
        catch (Exception ex)
        {
            LogRoundFailed(ex, OutboxName, 1);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Dispose()
    {
        round.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Outbox}: relay round failed ({Failures} in a row); backing off")]
    private partial void LogRoundFailed(Exception exception, string outbox, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Outbox}: publishing row {SequenceId} failed (attempt {Attempt}): {Error}")]
    private partial void LogPublishFailed(string outbox, long sequenceId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox {Outbox}: row {SequenceId} cannot be published and stays pending: {Error}")]
    private partial void LogUnpublishable(string outbox, long sequenceId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Outbox}: the bus's receive endpoints were not all ready after {Wait}; publishing anyway")]
    private partial void LogBusNotReady(string outbox, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Outbox}: purged {Count} published rows past retention")]
    private partial void LogPurged(string outbox, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Outbox}: shutdown flush timed out; pending rows are published at the next start")]
    private partial void LogFlushIncomplete(string outbox);

    private enum PublishOutcome
    {
        Published,
        BrokerUnavailable,
        Unpublishable,
        Stopped,
    }

    private readonly record struct RoundResult(int Published, bool Failed, bool MoreWaiting);
}
