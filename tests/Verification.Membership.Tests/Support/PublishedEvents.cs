using System.Collections.Concurrent;
using MassTransit;
using Verification.Contracts.Events;

namespace Verification.Membership.Tests.Support;

/// <summary>Every event the host's outbox relay handed to the bus (a published row keeps no payload to read back).</summary>
public sealed class PublishedEvents : IPublishObserver
{
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
        if (context.Message is IIntegrationEvent integrationEvent) _events.Enqueue(integrationEvent);
        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
