using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Verification.Contracts.Events;
using Verification.Platform.Data;

namespace Verification.Platform.Outbox;

/// <summary>
/// Publishes one module's pending outbox rows to the bus in creation order, marks them published, and backs off
/// while the broker (or the database) is unavailable. Delivery is at least once: a crash between the publish and
/// the mark leaves the row pending and it is published again, which consumers absorb by EventId.
/// </summary>
/// <remarks>
/// A window of rows goes out as one <see cref="IntegrationEventBatch"/> message (up to <see cref="OutboxOptions.EventsPerMessage"/>
/// events): one publish, one confirm, one delivery and one acknowledgement for the window instead of one per event. The
/// whole message is confirmed or not, so its rows are marked together or stay pending together.
/// On PostgreSQL each round runs in a transaction that takes its rows with <c>FOR UPDATE SKIP LOCKED</c>, so any
/// number of relay instances share the work and never hold the same row at once. On SQLite (one process per file)
/// a round reads without holding the write lock during the publish, and rounds of this instance never overlap.
/// Messages are published in sequence order, up to <see cref="OutboxOptions.PublishConcurrency"/> at once, so the broker
/// may receive neighbouring messages out of order; with several instances, or writers whose commits finish out of sequence order,
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
        "SELECT * FROM outbox_messages WHERE published_at IS NULL AND sequence_id >= {1} ORDER BY sequence_id LIMIT {0} FOR UPDATE SKIP LOCKED";

    private readonly OutboxOptions options = optionsMonitor.Get(OutboxNames.OptionsOf<TContext>());
    private readonly SemaphoreSlim round = new(1, 1);
    private readonly TaskCompletionSource hostStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset nextPurgeAt = DateTimeOffset.MinValue;
    private DateTimeOffset nextLagAt = DateTimeOffset.MinValue;

    /// <summary>
    /// Every row below it was published when this relay passed it: rounds read from here instead of walking the pending
    /// index's dead entries of everything published since the last vacuum (draining 3 M events: 230.6 s before, 130.8 s after).
    /// A row that commits after a round passed its id is below the floor; the full scan (each poll interval, and at shutdown) publishes it.
    /// </summary>
    private long floor;
    private DateTimeOffset nextFullScanAt = DateTimeOffset.MinValue;

    private static readonly string OutboxName = OutboxNames.TagOf<TContext>();

    /// <summary>Publishes until nothing is pending (or only rows that cannot be published); used on graceful shutdown.</summary>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        nextFullScanAt = DateTimeOffset.MinValue;
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
                    // The rows wait for the broker: the pending gauges show how many and since when.
                    await MeasureLagIfDueAsync(stoppingToken);
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

                await MeasureLagIfDueAsync(stoppingToken);
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
        // Flows only into this round's awaits: the commit that marks rows published does not wake the relay again.
        OutboxCommitInterceptor<TContext>.RelayRound.Value = true;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            var locking = db.Database.IsNpgsql();
            var now = DateTimeOffset.UtcNow;
            var from = floor;
            if (now >= nextFullScanAt)
            {
                from = 0;
                nextFullScanAt = now + options.PollInterval;
            }

            await using var transaction = locking ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
            var rows = locking
                ? await db.Set<OutboxMessage>().FromSqlRaw(PendingRowsSql, options.BatchSize, from).AsNoTracking().ToListAsync(cancellationToken)
                : await db.Set<OutboxMessage>()
                    .AsNoTracking()
                    .Where(m => m.PublishedAt == null && m.SequenceId >= from)
                    .OrderBy(m => m.SequenceId)
                    .Take(options.BatchSize)
                    .ToListAsync(cancellationToken);
            OutboxTelemetry.RecordRound(OutboxName, found: rows.Count > 0);
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

            // The next round starts at the first row this one left pending, or after the last it read.
            var publishedIds = published.Select(r => r.Row.SequenceId).ToHashSet();
            floor = rows.FirstOrDefault(r => !publishedIds.Contains(r.SequenceId))?.SequenceId ?? rows[^1].SequenceId + 1;
            return new RoundResult(published.Count, failed, MoreWaiting: !failed && published.Count > 0 && rows.Count == options.BatchSize);
        }
        finally
        {
            round.Release();
        }
    }

    /// <summary>
    /// Publishes the rows as <see cref="IntegrationEventBatch"/> messages of up to <see cref="OutboxOptions.EventsPerMessage"/>
    /// events in sequence order, with up to <see cref="OutboxOptions.PublishConcurrency"/> messages awaiting their confirms at
    /// once (a sliding window: a new publish starts as soon as the oldest in flight is answered); after the first broker
    /// failure no new publish starts, and those in flight are awaited and counted. Rows that cannot be published are left out.
    /// </summary>
    private async Task<(List<OutboxRow> Published, List<OutboxMessage> NotPublished, bool Failed)> PublishRowsAsync(
        List<OutboxMessage> rows, CancellationToken cancellationToken)
    {
        var published = new List<OutboxRow>(rows.Count);
        var notPublished = new List<OutboxMessage>();
        var messages = Messages(rows, notPublished);
        var failed = false;
        var stopped = false;
        var inFlight = new Queue<(List<OutboxRow> Rows, Task<PublishOutcome> Outcome)>(options.PublishConcurrency);
        var next = 0;
        while (next < messages.Count || inFlight.Count > 0)
        {
            while (next < messages.Count && inFlight.Count < options.PublishConcurrency && !failed && !stopped)
            {
                var message = messages[next++];
                inFlight.Enqueue((message, PublishBatchAsync(message, cancellationToken)));
            }

            if (inFlight.Count == 0)
            {
                break;
            }

            var (done, outcome) = inFlight.Dequeue();
            switch (await outcome)
            {
                case PublishOutcome.Published:
                    published.AddRange(done);
                    break;
                case PublishOutcome.Stopped:
                    stopped = true;
                    break;
                default:
                    failed = true;
                    notPublished.AddRange(done.Select(r => r.Row));
                    break;
            }
        }

        return (published, notPublished, failed);
    }

    /// <summary>
    /// The rows that can be published, cut into messages of at most <see cref="OutboxOptions.EventsPerMessage"/> events and
    /// (but for a single larger row) <see cref="OutboxOptions.MaxMessageBytes"/> of payload; a group row is never cut, so its
    /// events are confirmed, and marked, together. The others go to <paramref name="unpublishable"/> with their reason.
    /// </summary>
    private List<List<OutboxRow>> Messages(List<OutboxMessage> rows, List<OutboxMessage> unpublishable)
    {
        var messages = new List<List<OutboxRow>>();
        var current = new List<OutboxRow>();
        var events = 0;
        var bytes = 0L;
        foreach (var row in rows)
        {
            if (Prepare(row) is not { } prepared)
            {
                unpublishable.Add(row);
                continue;
            }

            if (current.Count > 0 && (events + prepared.Events.Length > options.EventsPerMessage || bytes + row.Payload.Length > options.MaxMessageBytes))
            {
                messages.Add(current);
                current = [];
                events = 0;
                bytes = 0;
            }

            current.Add(prepared);
            events += prepared.Events.Length;
            bytes += row.Payload.Length;
        }

        if (current.Count > 0)
        {
            messages.Add(current);
        }

        return messages;
    }

    /// <summary>The row as batch items, or null (with its error set) when a type is unknown or its stored JSON unreadable.</summary>
    private OutboxRow? Prepare(OutboxMessage row)
    {
        if (row.MessageType == OutboxEventGroup.MessageType)
        {
            return PrepareGroup(row);
        }

        if (!eventTypes.TryResolve(row.MessageType, out var messageType))
        {
            row.LastError = $"Unknown message type '{row.MessageType}': is its assembly registered with OutboxEventTypes?";
            LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
            return null;
        }

        try
        {
            // Parsed, not bound to the event type: the payload travels as the JSON it is; consumers bind it.
            using var payload = JsonDocument.Parse(row.Payload);
            if (payload.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("The payload is not a JSON object.");
            }

            var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(row.Headers, OutboxEventTypes.PayloadJson) ?? [];
            return new OutboxRow(row, [new RowEvent(messageType, new BatchedIntegrationEvent(row.EventId, row.MessageType, payload.RootElement.Clone(), headers))]);
        }
        catch (JsonException ex)
        {
            row.LastError = Truncate($"Unreadable payload: {ex.Message}");
            LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
            return null;
        }
    }

    /// <summary>A group row's events, or null (with its error set) when one of them cannot be published: the group stays pending whole.</summary>
    private OutboxRow? PrepareGroup(OutboxMessage row)
    {
        if (!OutboxEventGroup.TryRead(row.Payload, out var items, out var reason))
        {
            row.LastError = Truncate($"Unreadable group: {reason}");
            LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
            return null;
        }

        var events = new RowEvent[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!eventTypes.TryResolve(items[i].MessageType, out var messageType))
            {
                row.LastError = $"Unknown message type '{items[i].MessageType}' of event {items[i].EventId}: is its assembly registered with OutboxEventTypes?";
                LogUnpublishable(OutboxName, row.SequenceId, row.LastError);
                return null;
            }

            events[i] = new RowEvent(messageType, items[i]);
        }

        return new OutboxRow(row, events);
    }

    /// <summary>
    /// Marks the confirmed rows published, clearing an event's payload and keeping only a group's event ids and types,
    /// with one statement per group row and one for the rest; the others get an attempt and their error.
    /// </summary>
    private static async Task MarkAsync(TContext db, List<OutboxRow> publishedRows, List<OutboxMessage> notPublished)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var group in publishedRows.Where(r => r.Row.MessageType == OutboxEventGroup.MessageType))
        {
            var id = group.Row.SequenceId;
            var kept = OutboxEventGroup.Published(group.Events.Select(e => e.Item));
            await db.Set<OutboxMessage>()
                .Where(m => m.SequenceId == id)
                .ExecuteUpdateAsync(set => set.SetProperty(m => m.PublishedAt, now).SetProperty(m => m.Payload, kept).SetProperty(m => m.LastError, (string?)null), CancellationToken.None);
        }

        var published = publishedRows.Where(r => r.Row.MessageType != OutboxEventGroup.MessageType).Select(r => r.Row.SequenceId).ToList();
        if (published.Count > 0)
        {
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

    private async Task<PublishOutcome> PublishBatchAsync(List<OutboxRow> rows, CancellationToken cancellationToken)
    {
        // One producer span per event, a child of the request that wrote its row, even though that finished long ago;
        // the consumer gets the span's id as the event's traceparent, so the log's trace id is the request's.
        var ambient = Activity.Current;
        var spans = new List<Activity>(rows.Count);
        var items = new List<BatchedIntegrationEvent>(rows.Count);
        var eventCount = rows.Sum(r => r.Events.Length);
        foreach (var (messageType, item) in rows.SelectMany(r => r.Events))
        {
            items.Add(item);
            item.Headers.TryGetValue(OutboxHeaders.TraceParent, out var traceParent);
            item.Headers.TryGetValue(OutboxHeaders.TraceState, out var traceState);
            ActivityContext.TryParse(traceParent, traceState, out var parent);
            var activity = OutboxTelemetry.ActivitySource.StartActivity($"{messageType.Name} publish", ActivityKind.Producer, parent);
            if (activity is null)
            {
                continue;
            }

            activity.SetTag("messaging.operation.type", "publish");
            activity.SetTag("messaging.message.id", item.EventId.ToString());
            activity.SetTag("messaging.batch.message_count", eventCount);
            activity.SetTag("verification.outbox", OutboxName);
            item.Headers[OutboxHeaders.TraceParent] = activity.Id!;
            spans.Add(activity);
        }

        // The bus's own publish and consume spans go under the first event's: a lone event's trace runs from its request to the consumer.
        Activity.Current = spans.Count > 0 ? spans[0] : ambient;
        var batch = new IntegrationEventBatch(Guid.CreateVersion7(), OutboxName, [.. items]);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.PublishTimeout);
        try
        {
            // WaitAsync as well as the token: a publish the client library fails to cancel must not hold the round.
            await bus.Publish(batch, Pipe.Execute<PublishContext<IntegrationEventBatch>>(context => context.MessageId = batch.BatchId), timeout.Token)
                .WaitAsync(options.PublishTimeout + TimeSpan.FromSeconds(1), cancellationToken);
            OutboxTelemetry.RecordMessage(OutboxName);
            foreach (var (messageType, _) in rows.SelectMany(r => r.Events))
            {
                OutboxTelemetry.RecordPublished(OutboxName, messageType.Name);
            }

            return PublishOutcome.Published;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return PublishOutcome.Stopped;
        }
        catch (Exception ex)
        {
            var error = Truncate($"{ex.GetType().Name}: {ex.Message}");
            foreach (var row in rows)
            {
                row.Row.LastError = error;
                foreach (var (messageType, _) in row.Events)
                {
                    OutboxTelemetry.RecordFailure(OutboxName, messageType.Name);
                }
            }

            foreach (var span in spans)
            {
                span.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            }

            LogPublishFailed(OutboxName, items.Count, rows.Count, rows[0].Row.SequenceId, rows[^1].Row.SequenceId, rows[0].Row.Attempts + 1, error);
            return PublishOutcome.BrokerUnavailable;
        }
        finally
        {
            foreach (var span in spans)
            {
                span.Dispose();
            }
        }
    }

    /// <summary>The lag gauges at most once per <see cref="OutboxOptions.PollInterval"/>: after every round they cost two statements per commit at low load.</summary>
    private async Task MeasureLagIfDueAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        if (now < nextLagAt)
        {
            return;
        }

        nextLagAt = now + options.PollInterval;
        await MeasureLagAsync(cancellationToken);
    }

    private async Task MeasureLagAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var from = floor;
        var pending = scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>()
            .AsNoTracking()
            .Where(m => m.PublishedAt == null && m.SequenceId >= from);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox {Outbox}: publishing {Count} events of {Rows} rows ({FirstSequenceId}..{LastSequenceId}) as one message failed (attempt {Attempt}): {Error}")]
    private partial void LogPublishFailed(string outbox, int count, int rows, long firstSequenceId, long lastSequenceId, int attempt, string error);

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
        Stopped,
    }

    /// <summary>A pending row ready to go: its events, one or a group's.</summary>
    private readonly record struct OutboxRow(OutboxMessage Row, RowEvent[] Events);

    private readonly record struct RowEvent(Type Type, BatchedIntegrationEvent Item);

    private readonly record struct RoundResult(int Published, bool Failed, bool MoreWaiting);
}
