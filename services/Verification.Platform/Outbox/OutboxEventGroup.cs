using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Verification.Contracts.Events;

namespace Verification.Platform.Outbox;

/// <summary>
/// Several events of one transaction in one outbox row: a bulk writer's events cost one insert and one mark per
/// <see cref="MaxEvents"/> instead of one each (the outbox was a third of PostgreSQL's time per enrolled worker). The row's
/// payload is the events as the relay publishes them (<see cref="BatchedIntegrationEvent"/> items, each with its own
/// headers); once published it keeps each event's id and type only. The view <c>outbox_events</c> lists every event,
/// grouped or not, one row each.
/// </summary>
public static class OutboxEventGroup
{
    /// <summary>The message type of a group row; never an event's own type.</summary>
    public const string MessageType = "Verification.Platform.Outbox.OutboxEventGroup";

    /// <summary>At most this many events in one row: a relay's message of <see cref="OutboxOptions.EventsPerMessage"/> by default.</summary>
    public const int MaxEvents = 100;

    // The group read as one document that its events' payloads are parts of, not one document per payload.
    private static readonly JsonSerializerOptions GroupJson = new(OutboxEventTypes.PayloadJson) { Converters = { new BatchedIntegrationEventsConverter() } };

    /// <summary>
    /// The rows that carry these events, in their order: one group row per up to <see cref="MaxEvents"/> of them, and an
    /// event's own row where it would be alone. Every row must commit in the transaction of the change the events describe.
    /// </summary>
    public static IReadOnlyList<OutboxMessage> Rows(IReadOnlyList<OutboxMessage> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count <= 1)
        {
            return events;
        }

        var rows = new List<OutboxMessage>((events.Count + MaxEvents - 1) / MaxEvents);
        for (var start = 0; start < events.Count; start += MaxEvents)
        {
            var count = Math.Min(MaxEvents, events.Count - start);
            rows.Add(count == 1 ? events[start] : Group(events, start, count));
        }

        return rows;
    }

    private static OutboxMessage Group(IReadOnlyList<OutboxMessage> events, int start, int count) => new()
    {
        EventId = Guid.CreateVersion7(),
        MessageType = MessageType,
        Payload = JsonArray(events.Skip(start).Take(count), count * 1024, (json, message) =>
        {
            if (message.MessageType == MessageType)
            {
                throw new ArgumentException("A group holds events, not other groups.", nameof(events));
            }

            json.WriteString("eventId", message.EventId);
            json.WriteString("messageType", message.MessageType);
            // The event's own JSON, as its row would have held it: written by NewOutboxMessage, so not parsed again here.
            json.WritePropertyName("payload");
            json.WriteRawValue(message.Payload, skipInputValidation: true);
            json.WritePropertyName("headers");
            json.WriteRawValue(message.Headers, skipInputValidation: true);
        }),
        Headers = "{}",
        CreatedAt = events[start].CreatedAt,
    };

    /// <summary>
    /// The events a pending group row holds, or false with the reason when its payload does not read as a list of events.
    /// The reason names positions and event ids only, never a value of an event.
    /// </summary>
    public static bool TryRead(string payload, [NotNullWhen(true)] out BatchedIntegrationEvent[]? events, [NotNullWhen(false)] out string? reason)
    {
        events = null;
        try
        {
            events = JsonSerializer.Deserialize<BatchedIntegrationEvent[]>(payload, GroupJson);
        }
        catch (JsonException ex)
        {
            // The path and position only: the exception's message could quote the payload.
            reason = $"the group does not read as a list of events (at {ex.Path ?? "$"})";
            return false;
        }

        if (events is not { Length: > 0 })
        {
            events = null;
            reason = "the group holds no events";
            return false;
        }

        for (var i = 0; i < events.Length; i++)
        {
            var item = events[i];
            if (item is null || item.EventId == Guid.Empty || string.IsNullOrEmpty(item.MessageType)
                || item.Payload.ValueKind != JsonValueKind.Object || item.MessageType == MessageType || item.Headers is null)
            {
                reason = $"the group's event {i} ({item?.EventId}) is not an event with an id, a type and a JSON object";
                events = null;
                return false;
            }
        }

        reason = null;
        return true;
    }

    /// <summary>What a published group row keeps: each event's id and type, never its payload (which may hold personal data).</summary>
    public static string Published(IEnumerable<BatchedIntegrationEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return JsonArray(events, 0, (json, item) =>
        {
            json.WriteString("eventId", item.EventId);
            json.WriteString("messageType", item.MessageType);
        });
    }

    /// <summary>A JSON array of one object per item, its properties written by <paramref name="write"/>.</summary>
    private static string JsonArray<T>(IEnumerable<T> items, int capacity, Action<Utf8JsonWriter, T> write)
    {
        var buffer = capacity > 0 ? new ArrayBufferWriter<byte>(capacity) : new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var item in items)
            {
                json.WriteStartObject();
                write(json, item);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
