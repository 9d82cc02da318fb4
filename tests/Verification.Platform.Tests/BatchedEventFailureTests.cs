using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;

namespace Verification.Platform.Tests;

/// <summary>Which events a <see cref="RefusingEnrolmentConsumer"/> was handed, and the one it refuses.</summary>
public sealed class RefusalLog
{
    public Guid Refused { get; set; }

    public ConcurrentDictionary<Guid, int> Handled { get; } = new();
}

/// <summary>Records every event it is handed and throws for one of them, as a consumer with a bug for one event would.</summary>
public sealed class RefusingEnrolmentConsumer(RefusalLog log) : IConsumer<ParticipantEnrolled>
{
    public Task Consume(ConsumeContext<ParticipantEnrolled> context)
    {
        log.Handled.AddOrUpdate(context.Message.EventId, 1, (_, n) => n + 1);
        return context.Message.EventId == log.Refused
            ? throw new InvalidOperationException("This consumer cannot take this event.")
            : Task.CompletedTask;
    }
}

/// <summary>One event of a batch that its consumer cannot take holds up only itself, not the events after it.</summary>
public sealed class BatchedEventFailureTests
{
    [Fact]
    public async Task AnEventItsConsumerRefusesDoesNotKeepTheRestOfItsBatchFromTheConsumer()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = cancel.Token;
        var events = TestEvents.Enrolments("refused-in-batch", 5);
        var log = new RefusalLog { Refused = events[1].EventId };
        var faults = new ConcurrentBag<Fault<IntegrationEventBatch>>();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddSingleton(log);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.InMemory, RetryLimit = 2, RetryMinInterval = TimeSpan.FromMilliseconds(10), RetryMaxInterval = TimeSpan.FromMilliseconds(50) },
                bus => bus.AddEventConsumer<RefusingEnrolmentConsumer>(),
                (_, cfg) => cfg.ReceiveEndpoint("batch-faults", e => e.Handler<Fault<IntegrationEventBatch>>(context =>
                {
                    faults.Add(context.Message);
                    return Task.CompletedTask;
                })));
        }, ct);

        var batch = IntegrationEventBatches.Of("test", events);
        await host.Services.GetRequiredService<IBus>().Publish(batch, ct);

        // The batch fails after its retries (the refused event), and only then: every other event was handed over before.
        await Eventually.HoldsAsync(() => Task.FromResult(faults.Any(f => f.Message.BatchId == batch.BatchId)),
            TimeSpan.FromSeconds(30), "the batch's fault", ct);
        for (var i = 0; i < events.Count; i++) Assert.True(log.Handled.ContainsKey(events[i].EventId), $"event {i} of the batch was not handed over");
        // Handed over once and then once per retry, never skipped.
        Assert.Equal(3, log.Handled[log.Refused]);
        Assert.All(events, e => Assert.Equal(3, log.Handled[e.EventId]));
        await host.StopAsync(ct);
    }
}
