using MassTransit;
using Verification.Contracts.Events;

namespace Verification.Audit.Consumers;

/// <summary>One consumer per event type of Verification.Contracts, found by reflection, all on one queue: a new event type is logged without a change here.</summary>
public static class AuditConsumers
{
    /// <summary>The receive endpoint (queue) every audited event is delivered to.</summary>
    public const string EndpointName = "audit-log";

    /// <summary>Deliveries in flight at once: enough for <see cref="Features.Append.PendingEventWriter"/> to commit them in groups.</summary>
    public const int ConcurrentDeliveries = 256;

    /// <summary>Every concrete event type in the contracts assembly but the log's own heads (an entry per head would need another head).</summary>
    public static IReadOnlyList<Type> EventTypes { get; } =
    [
        .. typeof(IIntegrationEvent).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false, IsGenericTypeDefinition: false } && typeof(IIntegrationEvent).IsAssignableFrom(t))
            .Where(t => t != typeof(AuditTreeHeadSigned))
            .OrderBy(t => t.FullName, StringComparer.Ordinal),
    ];

    /// <summary>Events arrive in the relays' batches (<see cref="AuditedEventBatchConsumer"/>) and, published directly or by an older relay, alone.</summary>
    public static void Register(IBusRegistrationConfigurator consumers)
    {
        ArgumentNullException.ThrowIfNull(consumers);
        foreach (var consumer in EventTypes.Select(t => typeof(AuditedEventConsumer<>).MakeGenericType(t)).Append(typeof(AuditedEventBatchConsumer)))
        {
            consumers.AddConsumer(consumer)
                .Endpoint(endpoint =>
                {
                    endpoint.Name = EndpointName;
                    endpoint.PrefetchCount = ConcurrentDeliveries;
                    endpoint.ConcurrentMessageLimit = ConcurrentDeliveries;
                });
        }
    }
}
