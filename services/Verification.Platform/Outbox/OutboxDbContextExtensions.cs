using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;

namespace Verification.Platform.Outbox;

public static class OutboxDbContextExtensions
{
    /// <summary>
    /// Adds the event to the outbox of this DbContext, so it is committed by the same SaveChanges (and
    /// transaction) as the change it describes; the trace context of <see cref="Activity.Current"/> goes with it.
    /// </summary>
    public static OutboxMessage AddOutboxEvent<TEvent>(this DbContext dbContext, TEvent integrationEvent)
        where TEvent : class, IIntegrationEvent
    {
        ArgumentNullException.ThrowIfNull(dbContext);
        ArgumentNullException.ThrowIfNull(integrationEvent);
        if (integrationEvent.EventId == Guid.Empty)
        {
            throw new ArgumentException("An event needs a stable, non-empty EventId: consumers deduplicate on it.", nameof(integrationEvent));
        }

        var type = integrationEvent.GetType();
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [OutboxHeaders.CorrelationId] = integrationEvent.CorrelationId,
        };
        var activity = Activity.Current;
        if (activity is { IdFormat: ActivityIdFormat.W3C, Id: not null })
        {
            headers[OutboxHeaders.TraceParent] = activity.Id;
            if (!string.IsNullOrEmpty(activity.TraceStateString))
            {
                headers[OutboxHeaders.TraceState] = activity.TraceStateString;
            }
        }

        var message = new OutboxMessage
        {
            EventId = integrationEvent.EventId,
            MessageType = OutboxEventTypes.NameOf(type),
            Payload = JsonSerializer.Serialize(integrationEvent, type, OutboxEventTypes.PayloadJson),
            Headers = JsonSerializer.Serialize(headers, OutboxEventTypes.PayloadJson),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        dbContext.Set<OutboxMessage>().Add(message);
        return message;
    }
}
