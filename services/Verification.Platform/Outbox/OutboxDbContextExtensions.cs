using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
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
        var message = NewOutboxMessage(integrationEvent);
        dbContext.Set<OutboxMessage>().Add(message);
        return message;
    }

    /// <summary>
    /// The outbox row of an event, not yet added anywhere: for writers that insert rows in bulk
    /// (<see cref="CopyOutboxMessagesAsync"/>) inside the transaction of the change the event describes.
    /// </summary>
    public static OutboxMessage NewOutboxMessage<TEvent>(TEvent integrationEvent)
        where TEvent : class, IIntegrationEvent
    {
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

        return new OutboxMessage
        {
            EventId = integrationEvent.EventId,
            MessageType = OutboxEventTypes.NameOf(type),
            Payload = JsonSerializer.Serialize(integrationEvent, type, OutboxEventTypes.PayloadJson),
            Headers = JsonSerializer.Serialize(headers, OutboxEventTypes.PayloadJson),
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>
    /// Inserts the events' outbox rows with one binary <c>COPY</c> on the context's PostgreSQL connection, inside its current
    /// transaction (required: the rows must commit with the change they describe); the commit wakes the relay as usual.
    /// Several events go in as group rows (<see cref="OutboxEventGroup"/>), up to <see cref="OutboxEventGroup.MaxEvents"/> a row.
    /// A duplicate row id fails the COPY with a <see cref="PostgresException"/> (unique violation) and writes nothing.
    /// </summary>
    public static async Task CopyOutboxMessagesAsync(this DbContext dbContext, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dbContext);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return;
        }

        if (dbContext.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("Outbox rows are copied inside the transaction of the change they describe.");
        }

        messages = OutboxEventGroup.Rows(messages);
        var connection = (NpgsqlConnection)dbContext.Database.GetDbConnection();
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY outbox_messages (event_id, message_type, payload, headers, created_at, attempts) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var message in messages)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(message.EventId, NpgsqlDbType.Uuid, cancellationToken);
            await copy.WriteAsync(message.MessageType, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(message.Payload, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(message.Headers, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(message.CreatedAt, NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(message.Attempts, NpgsqlDbType.Integer, cancellationToken);
        }

        await copy.CompleteAsync(cancellationToken);
    }
}
