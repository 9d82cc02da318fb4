using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;
using Xunit.Abstractions;

namespace Verification.Platform.Tests;

/// <summary>The relays publish a window of outbox rows as one message (issue 27): fewer broker messages, each event still consumed once.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BatchPublishTests(ITestOutputHelper output)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    [Theory]
    [InlineData(100, 1)]
    [InlineData(30, 4)]
    public async Task AWindowOfRowsGoesToRabbitMqAsFewMessagesAndEachEventIsConsumedOnce(int eventsPerMessage, int expectedMessages)
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await BrokerTests.CreateDatabasesAsync(ct);
        var events = TestEvents.Enrolments("one-window", 100);
        // Committed before the relay starts: its first round finds the whole window.
        await TestData.WriteAsync(producer, events, perTransaction: 100, ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            BrokerTests.AddConsumerModule(services, consumer, broker, deliveries, "recorder-one-window");
            services.AddOutboxRelay<ProducerDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.BatchSize = 100;
                options.EventsPerMessage = eventsPerMessage;
            });
        }, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(60), "the consumer recorded every event", ct);
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);

        Assert.Equal(expectedMessages, deliveries.Messages);
        Assert.Equal(events.Count, deliveries.Total);
        Assert.Equal(events.Select(e => e.EventId).Order(), deliveries.EventIds.Order());
        Assert.Equal(0, deliveries.Faults);
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task AWindowOfRowsGoesToTheInMemoryBusAsOneMessageAndEachEventIsConsumedOnce()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        var events = TestEvents.Enrolments("one-window-sqlite", 60);
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        await TestData.WriteAsync(producer, events, perTransaction: 60, ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartInMemoryAsync(producer, consumer, deliveries, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(40), "the consumer recorded every event", ct);
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);

        // FastRelay reads 25 rows a round: three rounds, one message each.
        Assert.Equal(3, deliveries.Messages);
        Assert.Equal(events.Count, deliveries.Total);
        Assert.Equal(events.Count, deliveries.Distinct);
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task ARelayKilledBetweenThePublishAndTheMarkPublishesTheWindowAgainAndTheConsumerAbsorbsIt()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await BrokerTests.CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(
            services => BrokerTests.AddConsumerModule(services, consumer, broker, deliveries, "recorder-killed-before-mark"), ct);
        var events = TestEvents.Enrolments("killed-before-mark", 60);
        await TestData.WriteAsync(producer, events, perTransaction: 60, ct);

        // The probe reads 20 rows a round and kills itself (SIGKILL) as soon as the broker confirmed its first message.
        using (var first = RelayProbe.Start(producer, broker, publishDelayMs: 0, dieAfterPublishes: 1))
        {
            await first.WaitForExitAsync(ct);
        }

        var firstWindow = events.Take(20).Select(e => e.EventId).ToHashSet();
        await Eventually.HoldsAsync(() => Task.FromResult(firstWindow.All(id => deliveries.CountOf(id) == 1)),
            TimeSpan.FromSeconds(30), "the consumer got the first window, published before the kill", ct);
        Assert.Equal(0, await TestData.PublishedAsync(producer, ct));
        output.WriteLine($"first relay killed: {deliveries.Total} events delivered, none marked published");

        using (var second = RelayProbe.Start(producer, broker, publishDelayMs: 0))
        {
            await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
                TimeSpan.FromSeconds(40), "the second relay published and marked every row", ct);
            await Eventually.HoldsAsync(() => Task.FromResult(deliveries.Distinct == events.Count && firstWindow.All(id => deliveries.CountOf(id) >= 2)),
                TimeSpan.FromSeconds(30), "the consumer got every event, the first window twice", ct);
            second.Kill();
        }

        // The delivery log counts a batch's events when it arrives; the consumer's rows commit after that.
        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(30), "the consumer recorded every event", ct);
        output.WriteLine($"all consumed; {deliveries.Duplicates} duplicate deliveries absorbed");
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        Assert.Equal(0, deliveries.Faults);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task AWindowWhosePublishFailsWhileTheBrokerIsDownStaysPendingWholeAndIsDeliveredOnceWhenItIsBack()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await BrokerTests.CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            BrokerTests.AddConsumerModule(services, consumer, broker, deliveries, "recorder-outage-window");
            services.AddOutboxRelay<ProducerDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.BatchSize = 50; // the whole window in every round, so every row is tried while the broker is down
            });
        }, ct);

        var events = TestEvents.Enrolments("outage-window", 50);
        try
        {
            await broker.StopAsync(ct);
            await using (var scope = host.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
                foreach (var integrationEvent in events)
                {
                    db.AddOutboxEvent(integrationEvent);
                }

                await db.SaveChangesAsync(ct);
            }

            // Every row of the window has been tried and failed, and none was marked.
            await Eventually.HoldsAsync(async () =>
            {
                await using var db = TestData.Producer(producer);
                return await db.OutboxMessages.CountAsync(m => m.Attempts > 0 && m.PublishedAt == null, ct) == events.Count;
            }, TimeSpan.FromSeconds(40), "the relay tried the whole window against the stopped broker", ct);
            Assert.Equal(0, await TestData.PublishedAsync(producer, ct));
        }
        finally
        {
            await broker.StartAsync(CancellationToken.None);
        }

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(60), "the consumer recorded every event after the broker came back", ct);
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        Assert.Equal(events.Count, deliveries.Distinct);
        Assert.Equal(0, deliveries.Faults);
        await host.StopAsync(ct);
    }
}
