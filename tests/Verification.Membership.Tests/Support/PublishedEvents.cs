using System.Collections.Concurrent;
using MassTransit;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Membership.Tests.Support;

/// <summary>Every event the host's outbox relay handed to the bus (a published row keeps no payload to read back).</summary>
public sealed class PublishedEvents : IPublishObserver
{
    private static readonly OutboxEventTypes EventTypes = new();

    private readonly ConcurrentQueue<IIntegrationEvent> _events = new();

    public IReadOnlyList<IIntegrationEvent> All => [.. _events];

    /// <summary>The events about one participant: enrolled, coverage started or ended.</summary>
    public IReadOnlyList<IIntegrationEvent> About(string participantNumber) => [.. _events.Where(e => e switch
    {
        ParticipantEnrolled enrolled => enrolled.ParticipantNumber == participantNumber,
        CoverageStarted started => started.ParticipantNumber == participantNumber,
        CoverageEnded ended => ended.ParticipantNumber == participantNumber,
        _ => false,
    })];

    public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PostPublish<T>(PublishContext<T> context) where T : class
    {
        switch (context.Message)
        {
            case IIntegrationEvent integrationEvent:
                _events.Enqueue(integrationEvent);
                break;
            case IntegrationEventBatch batch:
                // The relay publishes a window of rows as one batch: each of its events, as its consumers will see it.
                foreach (var item in batch.Events)
                {
                    if (item.TryOpen(EventTypes, out var batched, out var reason)) _events.Enqueue(batched);
                    else throw new InvalidOperationException(reason);
                }

                break;
        }

        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
