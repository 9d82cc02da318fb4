using MassTransit;
using Verification.Audit.Features.Append;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Audit.Consumers;

/// <summary>
/// Queues one event for the appender. Idempotent in its own tables: the pending table is unique on the event
/// id and skips ids already in the log, so a redelivery inserts nothing (and the appender drops late duplicates).
/// </summary>
public sealed class AuditedEventConsumer<TEvent>(EventIntake intake, PendingEventWriter writer) : IConsumer<TEvent>
    where TEvent : class, IIntegrationEvent
{
    public async Task Consume(ConsumeContext<TEvent> context)
    {
        // The relay sends the traceparent of the call that wrote the outbox row (re-parented under its publish span): same trace id.
        var traceId = EventIntake.TraceIdOf(context.Headers.Get<string>(OutboxHeaders.TraceParent));
        var pending = intake.Receive(context.Message, traceId, DateTimeOffset.UtcNow);
        await writer.QueueAsync(pending, context.CancellationToken);
    }
}
