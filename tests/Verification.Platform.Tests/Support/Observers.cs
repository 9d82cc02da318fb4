using System.Collections.Concurrent;
using MassTransit;
using Verification.Contracts.Events;

namespace Verification.Platform.Tests.Support;

/// <summary>Counts every delivery a consumer received, duplicates included.</summary>
public sealed class DeliveryLog : IConsumeObserver
{
    private readonly ConcurrentDictionary<Guid, int> deliveries = new();
    private int completed;
    private int faults;

    public int Total => deliveries.Values.Sum();

    /// <summary>Deliveries whose consumer has returned or thrown.</summary>
    public int Completed => Volatile.Read(ref completed);

    /// <summary>Deliveries whose consumer threw (a duplicate the consumer failed to absorb shows here).</summary>
    public int Faults => Volatile.Read(ref faults);

    public int Distinct => deliveries.Count;

    public int Duplicates => Total - Distinct;

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        if (context.Message is IIntegrationEvent integrationEvent)
        {
            deliveries.AddOrUpdate(integrationEvent.EventId, 1, (_, count) => count + 1);
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
            if (context.Message is IIntegrationEvent integrationEvent)
            {
                log.published.AddOrUpdate(integrationEvent.EventId, 1, (_, count) => count + 1);
                log.byPublisher.AddOrUpdate(publisher, 1, (_, count) => count + 1);
            }

            return Task.CompletedTask;
        }

        public Task PublishFault<T>(PublishContext<T> context, Exception exception)
            where T : class => Task.CompletedTask;
    }
}
