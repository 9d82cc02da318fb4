namespace Verification.Platform.Outbox;

/// <summary>An event waiting to be published (or recently published), stored with the change it describes.</summary>
public sealed class OutboxMessage
{
    /// <summary>Database-assigned, increasing: the relay publishes in this order.</summary>
    public long SequenceId { get; set; }

    public Guid EventId { get; set; }

    /// <summary>Full name of the event record, e.g. <c>Verification.Contracts.Events.KurBorrowerEnrolled</c>.</summary>
    public string MessageType { get; set; } = "";

    /// <summary>The event as JSON while pending; emptied when the publish is confirmed, so a kept row holds no personal data.</summary>
    public string Payload { get; set; } = "";

    /// <summary>JSON object of string headers: traceparent, tracestate, correlation-id.</summary>
    public string Headers { get; set; } = "{}";

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Null while pending; set when the broker confirmed the publish.</summary>
    public DateTimeOffset? PublishedAt { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }
}
