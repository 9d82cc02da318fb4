using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Testing;

namespace Verification.Platform.Tests.Support;

internal static class TestHosts
{
    /// <summary>
    /// Builds and starts a host whose bus is connected before StartAsync returns, or (<paramref name="waitForBus"/> false)
    /// one that starts as the suite's host does, with the bus connecting in the background.
    /// </summary>
    public static async Task<IHost> StartAsync(Action<IServiceCollection> configure, CancellationToken cancellationToken, bool waitForBus = true)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.Configure<MassTransitHostOptions>(options =>
        {
            options.WaitUntilStarted = waitForBus;
            options.StartTimeout = TimeSpan.FromSeconds(30);
            options.StopTimeout = TimeSpan.FromSeconds(10);
        });
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(15));
        configure(builder.Services);
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }

    /// <summary>A producer's relay (<see cref="FastRelay"/>) and the recording consumer on SQLite, over the in-memory bus.</summary>
    public static Task<IHost> StartInMemoryAsync(ModuleDatabase producer, ModuleDatabase consumer, DeliveryLog deliveries, CancellationToken cancellationToken) =>
        StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            services.AddModuleDatabase<ConsumerDbContext>(consumer, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.InMemory },
                bus => bus.AddEventConsumer<ParticipantEnrolledRecorder>(),
                (_, cfg) => cfg.ConnectConsumeObserver(deliveries));
            services.AddOutboxRelay<ProducerDbContext>(FastRelay);
        }, cancellationToken);

    /// <summary>Relay settings that make tests quick: short polls and backoff.</summary>
    public static void FastRelay(OutboxOptions options)
    {
        options.BatchSize = 25;
        options.PollInterval = TimeSpan.FromMilliseconds(200);
        options.PublishTimeout = TimeSpan.FromSeconds(2);
        options.InitialBackoff = TimeSpan.FromMilliseconds(100);
        options.MaxBackoff = TimeSpan.FromSeconds(1);
    }
}

internal static class TestData
{
    public static TContext Open<TContext>(ModuleDatabase database, Func<DbContextOptions<TContext>, TContext> create)
        where TContext : DbContext =>
        create(new DbContextOptionsBuilder<TContext>().UseModuleDatabase(database).Options);

    /// <summary>A new database of the shared PostgreSQL server holding the platform's tables (the outbox), as a producer module's.</summary>
    public static async Task<ModuleDatabase> PostgresProducerAsync(string name, CancellationToken cancellationToken)
    {
        var postgres = await PostgresServer.SharedAsync();
        var producer = new ModuleDatabase("producer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync(name, cancellationToken));
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, cancellationToken);
        return producer;
    }

    public static ProducerDbContext Producer(ModuleDatabase database) => Open<ProducerDbContext>(database, o => new ProducerDbContext(o));

    public static ConsumerDbContext Consumer(ModuleDatabase database) => Open<ConsumerDbContext>(database, o => new ConsumerDbContext(o));

    /// <summary>Writes events to the producer's outbox, <paramref name="perTransaction"/> per commit, outside any host.</summary>
    public static async Task WriteAsync(
        ModuleDatabase database, IReadOnlyList<ParticipantEnrolled> events, int perTransaction, CancellationToken cancellationToken)
    {
        foreach (var chunk in events.Chunk(perTransaction))
        {
            await using var db = Producer(database);
            foreach (var integrationEvent in chunk)
            {
                db.AddOutboxEvent(integrationEvent);
            }

            await db.SaveChangesAsync(cancellationToken);
        }
    }

    public static async Task<(int Received, int DistinctReceived)> ConsumerCountsAsync(
        ModuleDatabase database, CancellationToken cancellationToken)
    {
        await using var db = Consumer(database);
        var received = await db.ReceivedEvents.CountAsync(cancellationToken);
        var distinct = await db.ReceivedEvents.Select(r => r.EventId).Distinct().CountAsync(cancellationToken);
        return (received, distinct);
    }

    public static async Task<int> PendingAsync(ModuleDatabase database, CancellationToken cancellationToken)
    {
        await using var db = Producer(database);
        return await db.OutboxMessages.CountAsync(m => m.PublishedAt == null, cancellationToken);
    }

    public static async Task<int> PublishedAsync(ModuleDatabase database, CancellationToken cancellationToken)
    {
        await using var db = Producer(database);
        return await db.OutboxMessages.CountAsync(m => m.PublishedAt != null, cancellationToken);
    }
}

internal static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting until {what}.");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}

internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "verification-platform-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public ModuleDatabase Sqlite(string module) =>
        new(module, DatabaseProvider.Sqlite, $"Data Source={System.IO.Path.Combine(Path, module + ".db")}");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner gets what a still-open handle kept.
        }
    }
}
