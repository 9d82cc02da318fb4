namespace Verification.Platform.Outbox;

/// <summary>
/// One event of the outbox as the view <c>outbox_events</c> lists it, whether its row holds it alone or in a group
/// (<see cref="OutboxEventGroup"/>): read-only, for operators, the books and tests.
/// </summary>
public sealed class OutboxEvent
{
    /// <summary>The row that holds the event; a group's events share it.</summary>
    public long SequenceId { get; set; }

    public Guid EventId { get; set; }

    public string MessageType { get; set; } = "";

    /// <summary>The event as JSON while pending; empty once published.</summary>
    public string Payload { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? PublishedAt { get; set; }

    public int Attempts { get; set; }

    public string? LastError { get; set; }
}
