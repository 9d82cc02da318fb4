using System.Collections.Frozen;
using System.Reflection;
using System.Runtime.ExceptionServices;
using MassTransit;
using MassTransit.Context;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Platform.Bus;

/// <summary>
/// Hands each event of an outbox relay's <see cref="IntegrationEventBatch"/> to <typeparamref name="TConsumer"/>'s
/// <c>IConsumer&lt;TEvent&gt;</c> for its type, in order, as if it had been delivered alone; events of types the consumer
/// does not take are skipped. One event's failure does not stop the others: every event is handed over, then the
/// first failure fails the batch, which the bus retries (and at last moves to the error queue) as it would that event
/// alone; the consumer must be idempotent on the event id, as it must be anyway.
/// </summary>
public sealed class BatchedEventConsumer<TConsumer>(TConsumer consumer, OutboxEventTypes eventTypes) : IConsumer<IntegrationEventBatch>
    where TConsumer : class, IConsumer
{
    private delegate Task Handler(TConsumer consumer, ConsumeContext context, IIntegrationEvent integrationEvent);

    private static readonly FrozenDictionary<Type, Handler> Handlers = HandlersOf();

    public async Task Consume(ConsumeContext<IntegrationEventBatch> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        List<string>? unreadable = null;
        ExceptionDispatchInfo? failed = null;
        foreach (var item in context.Message.Events)
        {
            if (!eventTypes.TryResolve(item.MessageType, out var type) || !Handlers.TryGetValue(type, out var handle))
            {
                continue;
            }

            if (!item.TryOpen(eventTypes, out var integrationEvent, out var reason))
            {
                (unreadable ??= []).Add(reason);
                continue;
            }

            try
            {
                await handle(consumer, context, integrationEvent);
            }
            catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
            {
                // The events after it are still handed over; the retry hands the failed one over again.
                failed ??= ExceptionDispatchInfo.Capture(ex);
            }
        }

        failed?.Throw();
        if (unreadable is not null)
        {
            throw new UnreadableBatchedEventException(context.Message, unreadable);
        }
    }

    private static FrozenDictionary<Type, Handler> HandlersOf()
    {
        var open = typeof(BatchedEventConsumer<TConsumer>).GetMethod(nameof(HandleAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
        return typeof(TConsumer).GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .Select(i => i.GetGenericArguments()[0])
            .Where(t => typeof(IIntegrationEvent).IsAssignableFrom(t))
            .ToFrozenDictionary(t => t, t => open.MakeGenericMethod(t).CreateDelegate<Handler>());
    }

    private static Task HandleAsync<TEvent>(TConsumer consumer, ConsumeContext context, IIntegrationEvent integrationEvent)
        where TEvent : class =>
        ((IConsumer<TEvent>)consumer).Consume(new MessageConsumeContext<TEvent>(context, (TEvent)integrationEvent));
}

public static class EventConsumerRegistration
{
    /// <summary>
    /// Registers a consumer of integration events on one endpoint for both ways they arrive: alone (published directly,
    /// or by a relay of an older release) and inside an outbox relay's <see cref="IntegrationEventBatch"/>.
    /// </summary>
    /// <param name="bus">The bus registration.</param>
    /// <param name="configureEndpoint">Endpoint settings for both registrations; the name defaults to the consumer's kebab-case name.</param>
    public static void AddEventConsumer<TConsumer>(this IBusRegistrationConfigurator bus, Action<IEndpointRegistrationConfigurator>? configureEndpoint = null)
        where TConsumer : class, IConsumer
    {
        ArgumentNullException.ThrowIfNull(bus);
        var name = KebabCaseEndpointNameFormatter.Instance.Consumer<TConsumer>();
        bus.TryAddSingleton<OutboxEventTypes>();
        bus.AddConsumer<TConsumer>().Endpoint(endpoint =>
        {
            endpoint.Name = name;
            configureEndpoint?.Invoke(endpoint);
        });
        bus.AddConsumer<BatchedEventConsumer<TConsumer>>().Endpoint(endpoint =>
        {
            endpoint.Name = name;
            configureEndpoint?.Invoke(endpoint);
        });
    }
}
