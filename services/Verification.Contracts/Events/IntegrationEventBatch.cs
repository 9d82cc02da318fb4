using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Contracts.Events;

/// <summary>
/// One bus message carrying a window of one module's outbox rows, so a window of N events costs the broker one publish,
/// one confirm, one delivery and one acknowledgement instead of N. Not an event itself: consumers take each
/// <see cref="Events"/> item as the event it carries and stay idempotent on that event's id (a window can be published
/// again after a crash, and need not hold the same rows the second time).
/// </summary>
/// <param name="BatchId">Identity of this publish, for diagnosis only: consumers deduplicate on the events' ids, never on this.</param>
/// <param name="Outbox">The outbox that published the window, e.g. "KurDbContext".</param>
/// <param name="Events">The events in outbox order.</param>
public sealed record IntegrationEventBatch(
    Guid BatchId,
    string Outbox,
    [property: JsonConverter(typeof(BatchedIntegrationEventsConverter))] BatchedIntegrationEvent[] Events);

/// <summary>One event of an <see cref="IntegrationEventBatch"/>, as its outbox row stored it.</summary>
/// <param name="EventId">The event's own id (the same as inside <paramref name="Payload"/>).</param>
/// <param name="MessageType">Full name of the event record, e.g. <c>Verification.Contracts.Events.KurBorrowerEnrolled</c>.</param>
/// <param name="Payload">The event as the outbox stored it: a JSON object (web defaults, camelCase), nested as is rather than escaped into a string.</param>
/// <param name="Headers">The event's own headers: traceparent, tracestate, correlation-id.</param>
public sealed record BatchedIntegrationEvent(Guid EventId, string MessageType, JsonElement Payload, Dictionary<string, string> Headers);
