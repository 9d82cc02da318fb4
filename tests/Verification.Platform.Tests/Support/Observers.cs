using System.Collections.Concurrent;
using MassTransit;
using Verification.Contracts.Events;

namespace Verification.Platform.Tests.Support;

/// <summary>Counts every event a consumer received, duplicates included, whether it came alone or in a relay's batch.</summary>
public sealed class DeliveryLog : IConsumeObserver
{
    private readonly ConcurrentDictionary<Guid, int> deliveries = new();
    private int messages;
    private int completed;
    private int faults;

    public int Total => deliveries.Values.Sum();

    /// <summary>Messages delivered: a batch counts once, however many events it carries.</summary>
    public int Messages => Volatile.Read(ref messages);

    /// <summary>Deliveries whose consumer has returned or thrown.</summary>
    public int Completed => Volatile.Read(ref completed);

    /// <summary>Deliveries whose consumer threw (a duplicate the consumer failed to absorb shows here).</summary>
    public int Faults => Volatile.Read(ref faults);

    public int Distinct => deliveries.Count;

    public IReadOnlyCollection<Guid> EventIds => [.. deliveries.Keys];

    public int CountOf(Guid eventId) => deliveries.GetValueOrDefault(eventId);

    public int Duplicates => Total - Distinct;

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        switch (context.Message)
        {
            case IIntegrationEvent integrationEvent:
                Interlocked.Increment(ref messages);
                deliveries.AddOrUpdate(integrationEvent.EventId, 1, (_, count) => count + 1);
                break;
            case IntegrationEventBatch batch:
                Interlocked.Increment(ref messages);
                foreach (var item in batch.Events)
                {
                    deliveries.AddOrUpdate(item.EventId, 1, (_, count) => count + 1);
                }

                break;
        }

        return Task.CompletedTask;
    }

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        Interlocked.Increment(ref completed);
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class
    {
        Interlocked.Increment(ref faults);
        Interlocked.Increment(ref completed);
        return Task.CompletedTask;
    }
}

/// <summary>Counts the messages a bus published, per publisher, optionally slowing each publish.</summary>
public sealed class PublishLog
{
    private readonly ConcurrentDictionary<Guid, int> published = new();
    private readonly ConcurrentDictionary<string, int> byPublisher = new();

    public int Total => published.Values.Sum();

    public int Distinct => published.Count;

    public int PublishedBy(string publisher) => byPublisher.GetValueOrDefault(publisher);

    public IPublishObserver ObserverFor(string publisher, TimeSpan delay) => new Observer(this, publisher, delay);

    private sealed class Observer(PublishLog log, string publisher, TimeSpan delay) : IPublishObserver
    {
        public Task PrePublish<T>(PublishContext<T> context)
            where T : class => delay > TimeSpan.Zero ? Task.Delay(delay) : Task.CompletedTask;

        public Task PostPublish<T>(PublishContext<T> context)
            where T : class
        {
            IEnumerable<Guid> ids = context.Message switch
            {
                IIntegrationEvent integrationEvent => [integrationEvent.EventId],
                IntegrationEventBatch batch => batch.Events.Select(e => e.EventId),
                _ => [],
            };
            foreach (var id in ids)
            {
                log.published.AddOrUpdate(id, 1, (_, count) => count + 1);
                log.byPublisher.AddOrUpdate(publisher, 1, (_, count) => count + 1);
            }

            return Task.CompletedTask;
        }

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
