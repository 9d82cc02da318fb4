using System.Diagnostics;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;
using Xunit.Abstractions;

namespace Verification.Platform.Tests;

[CollectionDefinition(Name)]
public sealed class BrokerCollection
{
    // One shared RabbitMQ per run, and one of these tests stops it: they run one at a time.
    public const string Name = "rabbitmq";
}

/// <summary>Microservices mode: PostgreSQL outboxes and consumers over a real RabbitMQ.</summary>
[Collection(BrokerCollection.Name)]
public sealed class BrokerTests(ITestOutputHelper output)
{
    // Generous for a loaded 2-core CI machine; on an idle one each test takes 1-25 s. Started after the shared servers are up.
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task OutboxDeliversEachEventExactlyOnceWhileTheBrokerIsStoppedAndRestarted()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            AddConsumerModule(services, consumer, broker, deliveries, "recorder-broker-restart");
            services.AddOutboxRelay<ProducerDbContext>(TestHosts.FastRelay);
        }, ct);

        // Writers keep committing before, during and after the outage, through the host's DbContext (signalled).
        var written = 0;
        using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = Task.Run(async () =>
        {
            while (!stopWriting.IsCancellationRequested)
            {
                await using var scope = host.Services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
                foreach (var integrationEvent in TestEvents.Enrolments("broker-restart", 5))
                {
                    db.AddOutboxEvent(integrationEvent);
                }

                await db.SaveChangesAsync(CancellationToken.None);
                Interlocked.Add(ref written, 5);
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        var clock = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () => await TestData.PublishedAsync(producer, ct) >= 50,
            TimeSpan.FromSeconds(30), "the relay has published some events", ct);
        await broker.StopAsync(ct);
        output.WriteLine($"{clock.Elapsed}: broker stopped after {Volatile.Read(ref written)} written");
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        await broker.StartAsync(ct);
        output.WriteLine($"{clock.Elapsed}: broker started again after {Volatile.Read(ref written)} written");
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await stopWriting.CancelAsync();
        await writer;
        var total = Volatile.Read(ref written);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= total,
            TimeSpan.FromSeconds(40), $"the consumer processed all {total} events", ct);
        output.WriteLine($"{clock.Elapsed}: all {total} consumed; {deliveries.Duplicates} duplicate deliveries absorbed");

        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(total, received);
        Assert.Equal(total, distinct);
        Assert.Equal(total, deliveries.Distinct);
        // A round marks its rows after its last publish is confirmed, which can be after the consumer has processed it.
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);
        await using (var db = TestData.Producer(producer))
        {
            // Proves the outage really hit the relay: some publishes failed and were retried.
            Assert.True(await db.OutboxMessages.AnyAsync(m => m.Attempts > 0, ct), "no publish failed during the outage");
        }

        await host.StopAsync(ct);
    }

    [Fact]
    public async Task OutboxRecoversWhenTheBrokerStopsWhilePublishesAwaitTheirConfirms()
    {
        // A CI run found RabbitMQ.Client 7.1.2 wedging a channel for good when the broker stopped under confirmed
        // publishes in flight (a cancelled publish broke its confirm semaphore; every later publish timed out). Here the
        // relay drains a backlog at full speed, a window of publishes awaiting confirms, when the broker stops.
        var broker = await RabbitMqBroker.SharedAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(420));
        var ct = timeout.Token;
        var (producer, consumer) = await CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        var events = TestEvents.Enrolments("confirms-in-flight", 8_000);
        await TestData.WriteAsync(producer, events, perTransaction: 1_000, ct);
        var queue = "";
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            queue = AddConsumerModule(services, consumer, broker, deliveries, "recorder-confirms-in-flight");
            services.AddOutboxRelay<ProducerDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.BatchSize = 200;
                options.PublishConcurrency = 64;
                options.EventsPerMessage = 4; // 50 messages a round: a window of confirms in flight when the broker stops
            });
        }, ct);

        var clock = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () => await TestData.PublishedAsync(producer, ct) >= 1_000,
            TimeSpan.FromSeconds(60), "the relay is publishing at full speed", ct);
        await broker.StopAsync(ct);
        var published = await TestData.PublishedAsync(producer, ct);
        output.WriteLine($"{clock.Elapsed}: broker stopped with {published} of {events.Count} marked published");
        Assert.True(published < events.Count, "the backlog drained before the broker stopped: the test proved nothing");
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await broker.StartAsync(ct);
        var restarted = clock.Elapsed;
        output.WriteLine($"{restarted}: broker started again");

        // Which side stalls, if one does: the relay's marks, the queue (its consumers and backlog), the consumer's commits.
        // A stall fails the test; slowness does not: a starved consumer took 84 s for the 8,000 at load 49.
        var progress = new List<string>();
        var lastSample = TimeSpan.Zero;
        var lastProcessed = -1;
        var lastAdvance = clock.Elapsed;
        TimeSpan? consumerBack = null;
        while (true)
        {
            if (consumerBack is null && (await QueueStateAsync(broker, queue, ct)).Consumers > 0) consumerBack = clock.Elapsed - restarted;
            var processedNow = (await TestData.ConsumerCountsAsync(consumer, ct)).Received;
            if (processedNow >= events.Count) break;
            if (processedNow > lastProcessed)
            {
                lastProcessed = processedNow;
                lastAdvance = clock.Elapsed;
            }

            if (clock.Elapsed - lastSample >= TimeSpan.FromSeconds(5))
            {
                lastSample = clock.Elapsed;
                var (ready, consumers) = await QueueStateAsync(broker, queue, ct);
                var line = $"{clock.Elapsed - restarted:mm\\:ss} after the restart: {await TestData.PublishedAsync(producer, ct)} marked published, " +
                           $"queue {ready} ready with {consumers} consumer(s), {processedNow} processed";
                progress.Add(line);
                output.WriteLine(line);
            }

            if (clock.Elapsed - lastAdvance > TimeSpan.FromSeconds(45) || clock.Elapsed - restarted > TimeSpan.FromSeconds(300))
            {
                Assert.Fail($"The consumer stalled at {processedNow} of {events.Count} events (nothing processed for {(clock.Elapsed - lastAdvance).TotalSeconds:0} s, " +
                            $"{(clock.Elapsed - restarted).TotalSeconds:0} s after the restart):\n{string.Join('\n', progress)}");
            }

            await Task.Delay(100, ct);
        }

        output.WriteLine($"{clock.Elapsed}: all consumed; {deliveries.Duplicates} duplicate deliveries absorbed; the consumer was back on its queue {consumerBack?.TotalSeconds:0.0} s after the restart");
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        // MassTransit alone waits up to 30 s between reconnects of a receive endpoint; the platform restarts it once the broker answers.
        Assert.True(consumerBack is null || consumerBack < TimeSpan.FromSeconds(20), $"the consumer came back {consumerBack?.TotalSeconds:0} s after the broker");
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "nothing is pending", ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task OutboxDeliversEachEventExactlyOnceWhenTheRelayProcessIsKilled()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(
            services => AddConsumerModule(services, consumer, broker, deliveries, "recorder-relay-killed"), ct);
        var events = TestEvents.Enrolments("relay-killed", 300);
        await TestData.WriteAsync(producer, events, perTransaction: 50, ct);

        var clock = Stopwatch.StartNew();
        using (var first = RelayProbe.Start(producer, broker, publishDelayMs: 100)) // per message: a round of 20 rows is one
        {
            await Eventually.HoldsAsync(async () => await TestData.PublishedAsync(producer, ct) >= 60,
                TimeSpan.FromSeconds(40), "the first relay has published part of the stream", ct);
            await Task.Delay(120, ct); // into the next batch: some of its rows are published but not yet marked
            first.Kill(); // SIGKILL: no flush, no mark of the batch in flight
            await first.WaitForExitAsync(ct);
        }

        var publishedBeforeKill = await TestData.PublishedAsync(producer, ct);
        output.WriteLine($"{clock.Elapsed}: first relay killed; {publishedBeforeKill} of {events.Count} marked published");
        Assert.InRange(publishedBeforeKill, 1, events.Count - 1);

        using (var second = RelayProbe.Start(producer, broker, publishDelayMs: 0))
        {
            await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
                TimeSpan.FromSeconds(40), "the consumer processed every event", ct);
            await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
                TimeSpan.FromSeconds(5), "nothing is pending", ct);
            second.Kill();
        }

        output.WriteLine($"{clock.Elapsed}: all consumed; {deliveries.Duplicates} duplicate deliveries absorbed");
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        Assert.Equal(events.Count, deliveries.Distinct);
        Assert.True(deliveries.Total >= events.Count);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task EventsPendingWhenTheHostStartsWithoutItsBrokerReachItsOwnConsumerOnceTheBrokerIsUp()
    {
        // A publish reaches only the queues bound at that moment. A host starting while its broker is down (a site
        // restarting, the broker last) holds events for a consumer whose queue does not exist yet: the relay must not
        // publish them before the bus has declared and bound it.
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await CreateDatabasesAsync(ct);
        var events = TestEvents.Enrolments("first-start", 200);
        await TestData.WriteAsync(producer, events, perTransaction: 50, ct);
        var deliveries = new DeliveryLog();
        await broker.StopAsync(ct);
        IHost host;
        try
        {
            host = await TestHosts.StartAsync(services =>
            {
                services.AddModuleDatabase<ProducerDbContext>(producer);
                AddConsumerModule(services, consumer, broker, deliveries, "recorder-first-start");
                services.AddOutboxRelay<ProducerDbContext>(TestHosts.FastRelay);
            }, ct, waitForBus: false);
            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }
        finally
        {
            await broker.StartAsync(CancellationToken.None);
        }

        using (host)
        {
            await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
                TimeSpan.FromSeconds(40), "every row is marked published", ct);
            await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
                TimeSpan.FromSeconds(20), $"the consumer processed all {events.Count} published events", ct);
            var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
            Assert.Equal(events.Count, received);
            Assert.Equal(events.Count, distinct);
            await host.StopAsync(ct);
        }
    }

    [Fact]
    public async Task DuplicateDeliveriesOfAnEventAreProcessedOnce()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (_, consumer) = await CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(
            services => AddConsumerModule(services, consumer, broker, deliveries, "recorder-duplicates"), ct);
        var bus = host.Services.GetRequiredService<IBus>();
        var events = TestEvents.Enrolments("duplicates", 20);

        // Every event five times, the copies concurrently, as a redelivery storm would bring them.
        await Task.WhenAll(events.SelectMany(e => Enumerable.Range(0, 5).Select(_ =>
            bus.Publish(e, context => context.MessageId = e.EventId, ct))));

        await Eventually.HoldsAsync(() => Task.FromResult(deliveries.Completed >= events.Count * 5),
            TimeSpan.FromSeconds(40), "every copy was delivered and handled", ct);
        var (received, distinct) = await TestData.ConsumerCountsAsync(consumer, ct);
        Assert.Equal(events.Count * 5, deliveries.Total);
        Assert.Equal(events.Count, deliveries.Distinct);
        Assert.Equal(0, deliveries.Faults); // the duplicates were acknowledged, not retried into the error queue
        Assert.Equal(events.Count, received);
        Assert.Equal(events.Count, distinct);
        await host.StopAsync(ct);
    }

    internal static async Task<(ModuleDatabase Producer, ModuleDatabase Consumer)> CreateDatabasesAsync(CancellationToken ct)
    {
        var postgres = await PostgresServer.SharedAsync();
        var producer = new ModuleDatabase("producer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("producer", ct));
        var consumer = new ModuleDatabase("consumer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("consumer", ct));
        var migrator = new SchemaMigrator();
        await migrator.ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        await migrator.ApplyModuleAsync(consumer, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace, ct);
        return (producer, consumer);
    }

    /// <summary>Registers the recording consumer on a queue of its own; returns the queue's name.</summary>
    internal static string AddConsumerModule(
        IServiceCollection services, ModuleDatabase consumer, RabbitMqBroker broker, DeliveryLog deliveries, string queue)
    {
        var name = $"{queue}-{Guid.NewGuid():N}";
        services.AddModuleDatabase<ConsumerDbContext>(
            consumer, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace);
        services.AddVerificationBus(
            new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(broker.AmqpUri) },
            bus => bus.AddEventConsumer<ParticipantEnrolledRecorder>(e => e.Name = name),
            (_, cfg) => cfg.ConnectConsumeObserver(deliveries));
        return name;
    }

    /// <summary>Messages ready in a queue and how many consumers it has (a passive declare; -1, -1 when the broker does not answer).</summary>
    private static async Task<(long Ready, long Consumers)> QueueStateAsync(RabbitMqBroker broker, string queue, CancellationToken ct)
    {
        try
        {
            var factory = new RabbitMQ.Client.ConnectionFactory { Uri = broker.AmqpUri, RequestedConnectionTimeout = TimeSpan.FromSeconds(3) };
            await using var connection = await factory.CreateConnectionAsync(ct);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            var state = await channel.QueueDeclarePassiveAsync(queue, ct);
            return (state.MessageCount, state.ConsumerCount);
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.RabbitMQClientException or RabbitMQ.Client.Exceptions.OperationInterruptedException or TimeoutException)
        {
            return (-1, -1);
        }
    }
}

/// <summary>Runs Verification.Platform.RelayProbe (a relay in its own process) against a producer database.</summary>
internal sealed class RelayProbe : IDisposable
{
    private readonly Process process;

    private RelayProbe(Process process) => this.process = process;

    /// <param name="dieAfterPublishes">When above 0, the probe kills itself once the broker confirmed that many publishes, before marking them.</param>
    public static RelayProbe Start(ModuleDatabase producer, RabbitMqBroker broker, int publishDelayMs, int dieAfterPublishes = 0)
    {
        // bin/<Configuration>/<tfm>/ of this project → the same folders of the probe project.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfm.Parent!;
        var testsRoot = configuration.Parent!.Parent!.Parent!;
        var probe = Path.Combine(testsRoot.FullName, "Verification.Platform.RelayProbe", "bin", configuration.Name, tfm.Name,
            "Verification.Platform.RelayProbe.dll");
        if (!File.Exists(probe))
        {
            throw new FileNotFoundException($"Build Verification.Platform.RelayProbe first: {probe} is missing.", probe);
        }

        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(probe);
        start.ArgumentList.Add(producer.ConnectionString);
        start.ArgumentList.Add(broker.AmqpUri.ToString());
        start.ArgumentList.Add(publishDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (dieAfterPublishes > 0)
        {
            start.ArgumentList.Add(dieAfterPublishes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the relay probe.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RelayProbe(process);
    }

    /// <summary>SIGKILL on Unix.</summary>
    public void Kill() => process.Kill();

    public Task WaitForExitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
        }

        process.Dispose();
    }
}
