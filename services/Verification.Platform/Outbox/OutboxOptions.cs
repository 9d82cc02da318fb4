namespace Verification.Platform.Outbox;

/// <summary>Tuning of one module's outbox relay (named options, keyed by the DbContext type's full name).</summary>
public sealed class OutboxOptions
{
    /// <summary>Rows read (and on PostgreSQL locked) per round.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Messages awaiting the broker's confirm at once; one at a time caps a relay at one confirm round trip per message.</summary>
    public int PublishConcurrency { get; set; } = 32;

    /// <summary>Most events in one published message (an IntegrationEventBatch); a round of <see cref="BatchSize"/> rows is one message by default.</summary>
    public int EventsPerMessage { get; set; } = 100;

    /// <summary>Most payload bytes in one message (a single larger event still goes, alone): well under RabbitMQ's frame and message limits.</summary>
    public int MaxMessageBytes { get; set; } = 512 * 1024;

    /// <summary>How often the relay looks for rows written by other processes, or committed without a signal.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one publish may wait for the broker (connection and confirm) before it counts as failed.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay after a failure; doubled per consecutive failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Published rows are kept this long, then deleted: long enough to answer "did it go out?" during an incident,
    /// short enough that the table stays small. Audit, not the outbox, is the durable record.
    /// </summary>
    public TimeSpan PublishedRetention { get; set; } = TimeSpan.FromDays(3);

    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long the relay waits, at start and after a broker outage, for the bus's receive endpoints to declare their
    /// queues and bindings before it publishes anyway (an endpoint that never gets ready must not hold every event).
    /// </summary>
    public TimeSpan BusReadyWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful shutdown keeps publishing what is pending.</summary>
    public TimeSpan ShutdownFlushTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
