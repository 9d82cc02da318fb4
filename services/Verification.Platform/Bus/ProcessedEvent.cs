namespace Verification.Platform.Bus;

/// <summary>Marks that a consumer has handled an event; written in the same transaction as the handler's changes.</summary>
public sealed class ProcessedEvent
{
    public string Consumer { get; set; } = "";

    public Guid EventId { get; set; }

    public DateTimeOffset ProcessedAt { get; set; }
}
