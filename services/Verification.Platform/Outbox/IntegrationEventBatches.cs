using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Verification.Contracts.Events;

namespace Verification.Platform.Outbox;

/// <summary>Builds the <see cref="IntegrationEventBatch"/> messages the relays publish and opens their events again on the consuming side.</summary>
public static class IntegrationEventBatches
{
    /// <summary>A batch of events not from an outbox (tests, tools): each serialized as its outbox row would be.</summary>
    public static IntegrationEventBatch Of(string outbox, IEnumerable<IIntegrationEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return new IntegrationEventBatch(Guid.CreateVersion7(), outbox, [.. events.Select(Item)]);
    }

    /// <summary>One event as a batch item, with its correlation id as its only header.</summary>
    public static BatchedIntegrationEvent Item(IIntegrationEvent integrationEvent)
    {
        ArgumentNullException.ThrowIfNull(integrationEvent);
        var type = integrationEvent.GetType();
        return new BatchedIntegrationEvent(
            integrationEvent.EventId,
            OutboxEventTypes.NameOf(type),
            JsonSerializer.SerializeToElement(integrationEvent, type, OutboxEventTypes.PayloadJson),
            new Dictionary<string, string>(StringComparer.Ordinal) { [OutboxHeaders.CorrelationId] = integrationEvent.CorrelationId });
    }

    /// <summary>
    /// The event an item carries, or false with the reason when its type is not known here or its payload does not read as
    /// that type with the item's event id. The reason names the type and the event id only, never a value of the payload.
    /// </summary>
    public static bool TryOpen(
        this BatchedIntegrationEvent item,
        OutboxEventTypes eventTypes,
        [NotNullWhen(true)] out IIntegrationEvent? integrationEvent,
        [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(eventTypes);
        integrationEvent = null;
        if (!eventTypes.TryResolve(item.MessageType, out var type))
        {
            reason = $"event {item.EventId}: unknown message type '{item.MessageType}'";
            return false;
        }

        try
        {
            integrationEvent = item.Payload.Deserialize(type, OutboxEventTypes.PayloadJson) as IIntegrationEvent;
        }
        catch (JsonException ex)
        {
            // The path and position only: the exception's message could quote the payload.
            reason = $"event {item.EventId}: the payload does not read as {type.Name} (at {ex.Path ?? "$"})";
            return false;
        }

        if (integrationEvent is null || integrationEvent.EventId != item.EventId)
        {
            integrationEvent = null;
            reason = $"event {item.EventId}: the payload is not a {type.Name} with that event id";
            return false;
        }

        reason = null;
        return true;
    }
}

/// <summary>
/// Events of a batch that cannot be read here (unknown type, unreadable payload): the batch goes to the error queue
/// without retries, after the readable events were consumed, so it can be moved back once the consumer knows them.
/// </summary>
public sealed class UnreadableBatchedEventException(IntegrationEventBatch batch, IReadOnlyList<string> reasons)
    : Exception($"Batch {batch.BatchId} from {batch.Outbox}: {reasons.Count} of {batch.Events.Length} events cannot be read here: {string.Join("; ", reasons)}")
{
    public IReadOnlyList<string> Reasons { get; } = reasons;
}
