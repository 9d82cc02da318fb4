using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;

namespace Verification.Platform.Tests;

/// <summary>Monolithic mode: SQLite files and MassTransit's in-memory transport.</summary>
public sealed class SqliteOutboxTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task SqliteOutboxWithTheInMemoryBusDeliversEachEventExactlyOnce()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        var deliveries = new DeliveryLog();
        using var host = await StartMonolithAsync(producer, consumer, deliveries, TestHosts.FastRelay, ct);

        // Concurrent writers in one process: WAL and the busy timeout must keep every commit.
        var events = TestEvents.Enrolments("sqlite-e2e", 200);
        await Task.WhenAll(events.Chunk(25).Select(chunk => Task.Run(async () =>
        {
            foreach (var integrationEvent in chunk)
            {
                await using var scope = host.Services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
                db.AddOutboxEvent(integrationEvent);
                await db.SaveChangesAsync(ct);
            }
        }, ct)));

        await Eventually.HoldsAsync(
            async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received == events.Count,
            TimeSpan.FromSeconds(40), "the consumer processed every event", ct);
        await Eventually.HoldsAsync(
            async () => await TestData.PendingAsync(producer, ct) == 0, TimeSpan.FromSeconds(5), "nothing is pending", ct);

        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        Assert.Equal(events.Count, deliveries.Distinct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task RelayPublishesAsAChildOfTheTraceThatWroteTheEvent()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        using var request = new ActivitySource("Verification.Platform.Tests.Request");
        var publishes = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is OutboxTelemetry.Name || source.Name == request.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == OutboxTelemetry.Name)
                {
                    publishes.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var headers = new ConcurrentDictionary<Guid, string?>();
        using var host = await StartMonolithAsync(producer, consumer, new DeliveryLog(), TestHosts.FastRelay, ct,
            (_, cfg) => cfg.UseExecute(context =>
            {
                // Each event of a batch carries its own trace context.
                if (context.TryGetMessage<IntegrationEventBatch>(out var batch))
                {
                    foreach (var item in batch.Message.Events)
                    {
                        headers[item.EventId] = item.Headers.GetValueOrDefault(OutboxHeaders.TraceParent);
                    }
                }
            }));

        var enrolled = TestEvents.Enrolled("trace", 1);
        ActivityTraceId requestTrace;
        using (var enrol = request.StartActivity("Enrol", ActivityKind.Server))
        {
            Assert.NotNull(enrol);
            requestTrace = enrol.TraceId;
            await using var scope = host.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
            db.AddOutboxEvent(enrolled);
            await db.SaveChangesAsync(ct);
        }

        await Eventually.HoldsAsync(() => Task.FromResult(headers.ContainsKey(enrolled.EventId)),
            TimeSpan.FromSeconds(10), "the consumer saw the event", ct);
        var publish = Assert.Single(publishes, a => a.GetTagItem("messaging.message.id") as string == enrolled.EventId.ToString());
        Assert.Equal(requestTrace, publish.TraceId);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(publish.Id, headers[enrolled.EventId]);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task TheRelayKeepsSeveralPublishesInFlightButNoMoreThanItsConcurrency()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        var deliveries = new DeliveryLog();
        var inFlight = new InFlightPublishes(TimeSpan.FromMilliseconds(30));
        using var host = await StartMonolithAsync(producer, consumer, deliveries, options =>
        {
            TestHosts.FastRelay(options);
            options.BatchSize = 100;
            options.PublishConcurrency = 8;
            options.EventsPerMessage = 5; // 20 messages in the round, so there is a window to fill
        }, ct, (_, cfg) => cfg.ConnectPublishObserver(inFlight));

        // One transaction, so the relay finds all of them pending in one round.
        var events = TestEvents.Enrolments("in-flight", 100);
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
            foreach (var integrationEvent in events)
            {
                db.AddOutboxEvent(integrationEvent);
            }

            await db.SaveChangesAsync(ct);
        }

        await Eventually.HoldsAsync(
            async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received == events.Count,
            TimeSpan.FromSeconds(40), "the consumer processed every event", ct);
        Assert.InRange(inFlight.Max, 2, 8);
        Assert.Equal(events.Count, deliveries.Distinct);
        // A round marks its rows after its last publish is confirmed, which can be after the consumer has processed it.
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task GracefulShutdownFlushesPendingRowsAndMetricsShowTheLag()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        using var host = await StartMonolithAsync(producer, consumer, new DeliveryLog(), options =>
        {
            TestHosts.FastRelay(options);
            options.PollInterval = TimeSpan.FromMinutes(10); // only the shutdown flush can publish rows written without a signal
        }, ct);
        await Task.Delay(300, ct); // let the relay take its first, empty round

        // Written outside the host: no commit signal reaches the relay.
        await TestData.WriteAsync(producer, TestEvents.Enrolments("flush", 40), perTransaction: 10, ct);
        await Task.Delay(300, ct);
        Assert.Equal(40, await TestData.PendingAsync(producer, ct));

        await host.StopAsync(ct);

        Assert.Equal(0, await TestData.PendingAsync(producer, ct));
        Assert.Equal(40, await TestData.PublishedAsync(producer, ct));
        var lag = OutboxTelemetry.LagOf(OutboxNames.TagOf<ProducerDbContext>());
        Assert.NotNull(lag);
    }

    [Fact]
    public async Task PublishedRowsArePurgedOnceTheirRetentionHasPassed()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        using var host = await StartMonolithAsync(producer, consumer, new DeliveryLog(), options =>
        {
            TestHosts.FastRelay(options);
            options.PublishedRetention = TimeSpan.Zero;
            options.PurgeInterval = TimeSpan.FromMilliseconds(100);
        }, ct);

        await TestData.WriteAsync(producer, TestEvents.Enrolments("purge", 30), perTransaction: 30, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received == 30,
            TimeSpan.FromSeconds(30), "every event was consumed", ct);
        await Eventually.HoldsAsync(async () =>
        {
            await using var db = TestData.Producer(producer);
            return !await db.OutboxMessages.AnyAsync(ct);
        }, TimeSpan.FromSeconds(10), "the published rows were purged", ct);
        await host.StopAsync(ct);
    }

    private static Task<IHost> StartMonolithAsync(
        ModuleDatabase producer,
        ModuleDatabase consumer,
        DeliveryLog deliveries,
        Action<OutboxOptions> relay,
        CancellationToken ct,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configureBus = null) =>
        TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            services.AddModuleDatabase<ConsumerDbContext>(
                consumer, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.InMemory },
                bus => bus.AddEventConsumer<ParticipantEnrolledRecorder>(),
                (context, cfg) =>
                {
                    cfg.ConnectConsumeObserver(deliveries);
                    configureBus?.Invoke(context, cfg);
                });
            services.AddOutboxRelay<ProducerDbContext>(relay);
        }, ct);
}

/// <summary>Counts publishes between their start and their end, each held for a while, and keeps the highest count.</summary>
internal sealed class InFlightPublishes(TimeSpan hold) : IPublishObserver
{
    private int current;
    private int max;

    public int Max => Volatile.Read(ref max);

    public async Task PrePublish<T>(PublishContext<T> context)
        where T : class
    {
        var now = Interlocked.Increment(ref current);
        int seen;
        while (now > (seen = Volatile.Read(ref max)) && Interlocked.CompareExchange(ref max, now, seen) != seen)
        {
        }

        await Task.Delay(hold);
    }

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class
    {
        Interlocked.Decrement(ref current);
        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class
    {
        Interlocked.Decrement(ref current);
        return Task.CompletedTask;
    }
}
