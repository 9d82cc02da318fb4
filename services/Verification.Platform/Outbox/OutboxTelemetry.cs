using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Verification.Platform.Outbox;

/// <summary>Meter and activity source "Verification.Outbox": lag per module outbox, publishes, failures.</summary>
public static class OutboxTelemetry
{
    public const string Name = "Verification.Outbox";

    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly ConcurrentDictionary<string, OutboxLag> Lags = new(StringComparer.Ordinal);

    private static readonly Counter<long> Published = Meter.CreateCounter<long>(
        "verification.outbox.published", "{message}", "Outbox rows published to the bus (events, not messages).");

    private static readonly Counter<long> Messages = Meter.CreateCounter<long>(
        "verification.outbox.messages", "{message}", "Bus messages the relay published, each carrying a window of rows (published / messages = events per message).");

    private static readonly Counter<long> PublishFailures = Meter.CreateCounter<long>(
        "verification.outbox.publish_failures", "{message}", "Publish attempts that failed.");

    private static readonly Counter<long> Rounds = Meter.CreateCounter<long>(
        "verification.outbox.rounds", "{round}", "Relay rounds (a read of pending rows), tagged found=true when the round had rows to publish: empty rounds are the cost of waking without work.");

    static OutboxTelemetry()
    {
        Meter.CreateObservableGauge(
            "verification.outbox.pending",
            () => Lags.Select(l => new Measurement<long>(l.Value.Pending, new KeyValuePair<string, object?>("outbox", l.Key))),
            "{message}",
            "Rows not yet published.");
        Meter.CreateObservableGauge(
            "verification.outbox.oldest_pending_age",
            () => Lags.Select(l => new Measurement<double>(
                l.Value.OldestPendingAt is { } oldest ? Math.Max(0, (DateTimeOffset.UtcNow - oldest).TotalSeconds) : 0,
                new KeyValuePair<string, object?>("outbox", l.Key))),
            "s",
            "Age of the oldest row not yet published.");
    }

    /// <summary>Last measured lag of one outbox, as the relay saw it.</summary>
    public static OutboxLag? LagOf(string outbox) => Lags.TryGetValue(outbox, out var lag) ? lag : null;

    internal static void RecordLag(string outbox, long pending, DateTimeOffset? oldestPendingAt) =>
        Lags[outbox] = new OutboxLag(pending, oldestPendingAt);

    internal static void RecordPublished(string outbox, string messageType) =>
        Published.Add(1, new KeyValuePair<string, object?>("outbox", outbox), new KeyValuePair<string, object?>("message_type", messageType));

    internal static void RecordRound(string outbox, bool found) =>
        Rounds.Add(1, new KeyValuePair<string, object?>("outbox", outbox), new KeyValuePair<string, object?>("found", found));

    internal static void RecordMessage(string outbox) =>
        Messages.Add(1, new KeyValuePair<string, object?>("outbox", outbox));

    internal static void RecordFailure(string outbox, string messageType) =>
        PublishFailures.Add(1, new KeyValuePair<string, object?>("outbox", outbox), new KeyValuePair<string, object?>("message_type", messageType));
}

public sealed record OutboxLag(long Pending, DateTimeOffset? OldestPendingAt);
