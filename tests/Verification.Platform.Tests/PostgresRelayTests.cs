using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
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
        var producer = await TestData.PostgresProducerAsync("relays", ct);
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

    [Fact]
    public async Task ARoundsOwnCommitDoesNotWakeTheRelayForAnEmptyRound()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
        var producer = await TestData.PostgresProducerAsync("quiet-relay", ct);
        var rounds = new ConcurrentDictionary<bool, int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument is { Name: "verification.outbox.rounds", Meter.Name: OutboxTelemetry.Name }) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            // Only this test's relay: its context type is used nowhere else.
            if (!tags.ToArray().Any(t => t is { Key: "outbox", Value: nameof(QuietRelayDbContext) })) return;
            var found = tags.ToArray().Single(t => t.Key == "found").Value is true;
            rounds.AddOrUpdate(found, (int)value, (_, n) => n + (int)value);
        });
        listener.Start();

        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<QuietRelayDbContext>(producer);
            services.AddVerificationBus(new BusOptions { Transport = BusTransport.InMemory });
            services.AddOutboxRelay<QuietRelayDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.PollInterval = TimeSpan.FromMinutes(10); // only commits wake the relay
            });
        }, ct);
        await Eventually.HoldsAsync(() => Task.FromResult(rounds.GetValueOrDefault(false) >= 1),
            TimeSpan.FromSeconds(20), "the relay took its first, empty round", ct);
        var emptyAtStart = rounds.GetValueOrDefault(false);

        // One event per transaction, each published before the next is written.
        foreach (var integrationEvent in TestEvents.Enrolments("quiet-relay", 5))
        {
            await using (var scope = host.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<QuietRelayDbContext>();
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                db.AddOutboxEvent(integrationEvent);
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
            }

            await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
                TimeSpan.FromSeconds(20), "the event was published", ct);
        }

        // A wake-up by the round's own commit would run at once; give it time to show.
        await Task.Delay(500, ct);
        var (found, empty) = (rounds.GetValueOrDefault(true), rounds.GetValueOrDefault(false));
        await host.StopAsync(ct); // its flush takes one more round
        Assert.Equal(5, found);
        Assert.Equal(emptyAtStart, empty);
    }

    [Fact]
    public async Task ARowThatCommitsAfterTheRelayPassedItsSequenceIdIsStillPublished()
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
        var producer = await TestData.PostgresProducerAsync("late-commit", ct);
        var publishes = new PublishLog();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.InMemory },
                configureBus: (_, cfg) => cfg.ConnectPublishObserver(publishes.ObserverFor("relay", TimeSpan.Zero)));
            services.AddOutboxRelay<ProducerDbContext>(options =>
            {
                TestHosts.FastRelay(options);
                options.PollInterval = TimeSpan.FromSeconds(1);
            });
        }, ct);
        var events = TestEvents.Enrolments("late-commit", 2);

        // A long transaction takes the lower sequence id and commits only after a later row has been published.
        await using var longTransaction = TestData.Producer(producer);
        await using (var transaction = await longTransaction.Database.BeginTransactionAsync(ct))
        {
            longTransaction.AddOutboxEvent(events[0]);
            await longTransaction.SaveChangesAsync(ct);
            await using (var scope = host.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ProducerDbContext>();
                db.AddOutboxEvent(events[1]);
                await db.SaveChangesAsync(ct);
            }

            await Eventually.HoldsAsync(() => Task.FromResult(publishes.Distinct == 1),
                TimeSpan.FromSeconds(20), "the later row was published", ct);
            await transaction.CommitAsync(ct); // outside the host: no signal wakes the relay
        }

        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(20), "the row committed late was published", ct);
        Assert.Equal(2, publishes.Distinct);
        await host.StopAsync(ct);
    }
}

/// <summary>A module of its own for one test, so that its relay's metrics carry a tag no other test's relay has.</summary>
public sealed class QuietRelayDbContext(DbContextOptions<QuietRelayDbContext> options) : ModuleDbContext(options);
