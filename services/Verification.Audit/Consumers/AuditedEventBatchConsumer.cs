using MassTransit;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;
using Verification.Platform.Privacy;

namespace Verification.Audit.Consumers;

/// <summary>
/// Queues every event of an outbox relay's batch for the appender as one group and returns once all are durable: one
/// delivery, one acknowledgement and (usually) one commit for the window. Idempotent per event as
/// <see cref="AuditedEventConsumer{TEvent}"/> is, so a batch published again after a relay crash adds nothing.
/// </summary>
/// <remarks>
/// An event whose sealed NIK does not open is not logged and does not hold the others back: it is sent alone to this
/// queue, where its own consumer refuses it into the error queue with a <c>Fault</c> of its type, as if it had come alone.
/// An event this log cannot read (a type it does not know yet) fails the batch after the others are committed, without
/// retries: the batch waits in the error queue until it is moved back to a log that knows the type.
/// </remarks>
public sealed class AuditedEventBatchConsumer(EventIntake intake, PendingEventWriter writer, OutboxEventTypes eventTypes) : IConsumer<IntegrationEventBatch>
{
    public async Task Consume(ConsumeContext<IntegrationEventBatch> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var batch = context.Message;
        var receivedAt = DateTimeOffset.UtcNow;
        var pending = new List<PendingEvent>(batch.Events.Length);
        List<(IIntegrationEvent Event, BatchedIntegrationEvent Item)>? refused = null;
        List<string>? unreadable = null;
        foreach (var item in batch.Events)
        {
            if (!item.TryOpen(eventTypes, out var integrationEvent, out var reason))
            {
                (unreadable ??= []).Add(reason);
                continue;
            }

            // The log's own heads are not entries of it (see AuditConsumers.EventTypes).
            if (integrationEvent is AuditTreeHeadSigned)
            {
                continue;
            }

            item.Headers.TryGetValue(OutboxHeaders.TraceParent, out var traceParent);
            try
            {
                pending.Add(intake.Receive(integrationEvent, EventIntake.TraceIdOf(traceParent), receivedAt));
            }
            catch (SealedNikException)
            {
                (refused ??= []).Add((integrationEvent, item));
            }
        }

        if (pending.Count > 0)
        {
            await writer.QueueManyAsync(pending, context.CancellationToken);
        }

        if (refused is not null)
        {
            var self = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
            foreach (var (integrationEvent, item) in refused)
            {
                await self.Send(integrationEvent, integrationEvent.GetType(), Pipe.Execute<SendContext>(send =>
                {
                    send.MessageId = integrationEvent.EventId;
                    foreach (var (name, value) in item.Headers)
                    {
                        send.Headers.Set(name, value);
                    }
                }), context.CancellationToken);
            }
        }

        if (unreadable is not null)
        {
            throw new UnreadableBatchedEventException(batch, unreadable);
        }
    }
}
