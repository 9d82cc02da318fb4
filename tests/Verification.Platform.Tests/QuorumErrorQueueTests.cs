using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Verification.Platform.Bus;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

/// <summary>A message only <see cref="RefusingConsumer"/> consumes.</summary>
public sealed record RefusedProbe(Guid Id);

/// <summary>A message no consumer of the endpoint consumes: MassTransit moves it to the endpoint's <c>_skipped</c> queue.</summary>
public sealed record UnconsumedProbe(Guid Id);

/// <summary>Refuses every message with a validation error, which the bus does not retry: straight to the <c>_error</c> queue.</summary>
public sealed class RefusingConsumer : IConsumer<RefusedProbe>
{
    public Task Consume(ConsumeContext<RefusedProbe> context) => throw new ValidationException("refused on purpose");
}

/// <summary>
/// What MassTransit declares beside a consumer's queue — <c>&lt;queue&gt;_error</c> for a message that faulted and
/// <c>&lt;queue&gt;_skipped</c> for one no consumer takes — under <c>Verification:Bus:QuorumQueues</c>, on the real broker:
/// both take the consumer queue's arguments (MassTransit's error and dead-letter settings copy them), so with the setting
/// they are quorum queues too and a faulted event survives the loss of a node like the events still to be consumed.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class QuorumErrorQueueTests
{
    [Theory]
    [InlineData(true, "quorum")]
    [InlineData(false, "classic")]
    public async Task ErrorAndSkippedQueuesAreDeclaredWithTheConsumerQueuesType(bool quorum, string expectedType)
    {
        var ct = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;
        var broker = await RabbitMqBroker.SharedAsync();
        var queue = $"quorum-faults-{quorum}-{Guid.NewGuid():N}";
        using var host = await TestHosts.StartAsync(services => services.AddVerificationBus(
            new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(broker.AmqpUri), QuorumQueues = quorum },
            bus => bus.AddConsumer<RefusingConsumer>().Endpoint(e => e.Name = queue)), ct);
        var bus = host.Services.GetRequiredService<IBus>();

        // One message faults in the consumer, one reaches the endpoint's exchange with no consumer for its type.
        await bus.Publish(new RefusedProbe(Guid.NewGuid()), ct);
        var exchange = await bus.GetSendEndpoint(new Uri($"exchange:{queue}"));
        await exchange.Send(new UnconsumedProbe(Guid.NewGuid()), ct);

        string[] queues = [queue, queue + "_error", queue + "_skipped"];
        await Eventually.HoldsAsync(async () =>
        {
            var counts = (await broker.ListQueuesAsync(cancellationToken: ct)).ToDictionary(q => q.Name, q => q.Ready);
            return counts.GetValueOrDefault(queue + "_error") == 1 && counts.GetValueOrDefault(queue + "_skipped") == 1;
        }, TimeSpan.FromMinutes(2), "the refused message is in the error queue and the unconsumed one in the skipped queue", ct);

        var declared = await broker.ListQueueTypesAsync(cancellationToken: ct);
        foreach (var name in queues)
        {
            Assert.True(declared.TryGetValue(name, out var found), $"{name} was not declared");
            Assert.Contains(expectedType, found.Type, StringComparison.Ordinal);
            // The declaration itself carries the type when configured (x-queue-type cannot be set by a policy).
            Assert.Equal(quorum, Regex.IsMatch(found.Arguments, "\"x-queue-type\"\\s*,\\s*\"?quorum"));
        }

        await host.StopAsync(ct);
    }
}
