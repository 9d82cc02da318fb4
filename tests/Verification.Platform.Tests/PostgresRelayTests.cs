using Microsoft.Extensions.Hosting;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

public sealed class PostgresRelayTests
{
    [Fact]
    public async Task TwoRelaysOnOnePostgresOutboxNeverPublishTheSameRow()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
        var postgres = await PostgresServer.SharedAsync();
        var producer = new ModuleDatabase("producer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("relays", ct));
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        var events = TestEvents.Enrolments("two-relays", 400);
        await TestData.WriteAsync(producer, events, perTransaction: 100, ct);
        var publishes = new PublishLog();

        // Two instances of one module, each with its own bus, both starting on the same pending rows.
        var hosts = await Task.WhenAll(new[] { "first", "second" }.Select(name => TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.InMemory },
                configureBus: (_, cfg) => cfg.ConnectPublishObserver(publishes.ObserverFor(name, TimeSpan.FromMilliseconds(3))));
            services.AddOutboxRelay<ProducerDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.BatchSize = 10;
            });
        }, ct)));

        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(40), "both relays drained the outbox", ct);
        foreach (var host in hosts)
        {
            await host.StopAsync(ct);
            host.Dispose();
        }

        Assert.Equal(events.Count, publishes.Distinct);
        Assert.Equal(events.Count, publishes.Total);
        Assert.True(publishes.PublishedBy("first") > 0, "the first relay published nothing: the test did not race");
        Assert.True(publishes.PublishedBy("second") > 0, "the second relay published nothing: the test did not race");
    }
}
