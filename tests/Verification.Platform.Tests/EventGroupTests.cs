using Microsoft.EntityFrameworkCore;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;
using Xunit.Abstractions;

namespace Verification.Platform.Tests;

/// <summary>
/// Several events of one transaction in one outbox row (<see cref="OutboxEventGroup"/>): each event still reaches consumers
/// once, the row is marked as a whole, and what it keeps once published is each event's id and type, never a payload.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class EventGroupTests(ITestOutputHelper output)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    [Fact]
    public void EventsAreGroupedAHundredARowInTheirOrderAndALoneEventKeepsItsOwnRow()
    {
        var events = Messages(TestEvents.Enrolments("grouping", 201));
        var rows = OutboxEventGroup.Rows(events);

        Assert.Equal([OutboxEventGroup.MessageType, OutboxEventGroup.MessageType, events[200].MessageType], rows.Select(r => r.MessageType));
        Assert.Same(events[200], rows[2]);
        Assert.True(OutboxEventGroup.TryRead(rows[0].Payload, out var first, out _));
        Assert.True(OutboxEventGroup.TryRead(rows[1].Payload, out var second, out _));
        Assert.Equal(events.Take(200).Select(e => e.EventId), first.Concat(second).Select(e => e.EventId));
        Assert.Equal(events[0].Payload, first[0].Payload.GetRawText());
        Assert.Equal(events[0].Headers, System.Text.Json.JsonSerializer.Serialize(first[0].Headers, OutboxEventTypes.PayloadJson));
        var lone = Messages(TestEvents.Enrolments("grouping-lone", 1));
        Assert.Same(lone[0], Assert.Single(OutboxEventGroup.Rows(lone)));
    }

    [Theory]
    [InlineData("[]", "no events")]
    [InlineData("{\"eventId\":\"x\"}", "list of events")]
    [InlineData("[{\"eventId\":\"00000000-0000-0000-0000-000000000000\",\"messageType\":\"T\",\"payload\":{},\"headers\":{}}]", "event 0")]
    [InlineData("[{\"eventId\":\"0193a5f0-0000-7000-8000-000000000001\",\"messageType\":\"T\",\"payload\":\"3374010101010001\",\"headers\":{}}]", "event 0")]
    public void AGroupThatDoesNotReadAsEventsIsRefusedWithAReasonThatQuotesNoValue(string payload, string expected)
    {
        Assert.False(OutboxEventGroup.TryRead(payload, out _, out var reason));
        Assert.Contains(expected, reason, StringComparison.Ordinal);
        Assert.DoesNotContain("3374010101010001", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupRowsGoToRabbitMqEachEventIsConsumedOnceAndAPublishedGroupKeepsOnlyIdsAndTypes()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await BrokerTests.CreateDatabasesAsync(ct);
        var events = TestEvents.Enrolments("groups-postgres", 250);
        await CopyAsync(producer, events, ct);
        await using (var db = TestData.Producer(producer))
        {
            Assert.Equal(3, await db.OutboxMessages.CountAsync(ct));
            Assert.Equal(events.Select(e => e.EventId).Order(), (await db.OutboxEvents.Where(e => e.PublishedAt == null).Select(e => e.EventId).ToListAsync(ct)).Order());
        }

        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            BrokerTests.AddConsumerModule(services, consumer, broker, deliveries, "recorder-groups");
            services.AddOutboxRelay<ProducerDbContext>(TestHosts.FastRelay);
        }, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(60), "the consumer recorded every event", ct);
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);

        // A group is never cut: 100 + 100 + 50 events, three messages.
        Assert.Equal(3, deliveries.Messages);
        Assert.Equal(events.Select(e => e.EventId).Order(), deliveries.EventIds.Order());
        Assert.Equal(events.Count, deliveries.Total);
        Assert.Equal((events.Count, events.Count), await TestData.ConsumerCountsAsync(consumer, ct));
        await AssertPublishedKeepOnlyIdsAndTypesAsync(producer, events, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task GroupRowsGoToTheInMemoryBusOnSqliteAndAPublishedGroupKeepsOnlyIdsAndTypes()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        var events = TestEvents.Enrolments("groups-sqlite", 130);
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        await using (var db = TestData.Producer(producer))
        {
            db.OutboxMessages.AddRange(OutboxEventGroup.Rows(Messages(events)));
            await db.SaveChangesAsync(ct);
            Assert.Equal(2, await db.OutboxMessages.CountAsync(ct));
            Assert.Equal(events.Select(e => e.EventId).Order(), (await db.OutboxEvents.Select(e => e.EventId).ToListAsync(ct)).Order());
        }

        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartInMemoryAsync(producer, consumer, deliveries, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(40), "the consumer recorded every event", ct);
        await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
            TimeSpan.FromSeconds(10), "every row is marked published", ct);

        Assert.Equal(2, deliveries.Messages);
        Assert.Equal(events.Select(e => e.EventId).Order(), deliveries.EventIds.Order());
        Assert.Equal((events.Count, events.Count), await TestData.ConsumerCountsAsync(consumer, ct));
        await AssertPublishedKeepOnlyIdsAndTypesAsync(producer, events, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task AGroupWithAnEventOfAnUnknownTypeStaysPendingWholeWithItsReasonAndTheOtherRowsAreConsumed()
    {
        var ct = Timeout;
        using var directory = new TemporaryDirectory();
        var producer = directory.Sqlite("producer");
        var consumer = directory.Sqlite("consumer");
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        var bad = Messages(TestEvents.Enrolments("group-unknown-type", 5));
        bad[3].MessageType = "Verification.Contracts.Events.NotAnEventHere";
        var good = TestEvents.Enrolments("group-good", 7);
        await using (var db = TestData.Producer(producer))
        {
            db.OutboxMessages.AddRange(OutboxEventGroup.Rows(bad));
            db.OutboxMessages.AddRange(OutboxEventGroup.Rows(Messages(good)));
            await db.SaveChangesAsync(ct);
        }

        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartInMemoryAsync(producer, consumer, deliveries, ct);

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= good.Count,
            TimeSpan.FromSeconds(40), "the consumer recorded the good group's events", ct);
        OutboxMessage stuck = null!;
        await Eventually.HoldsAsync(async () =>
        {
            await using var db = TestData.Producer(producer);
            stuck = await db.OutboxMessages.SingleAsync(m => m.PublishedAt == null, ct);
            return stuck.Attempts > 0;
        }, TimeSpan.FromSeconds(10), "the bad group was tried", ct);

        Assert.Equal(OutboxEventGroup.MessageType, stuck.MessageType);
        Assert.Contains("NotAnEventHere", stuck.LastError, StringComparison.Ordinal);
        Assert.Contains(bad[3].EventId.ToString(), stuck.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("3374", stuck.LastError, StringComparison.Ordinal);
        // None of the bad group's events went out, not even the four readable ones: the row is marked whole or not at all.
        Assert.Equal(good.Select(e => e.EventId).Order(), deliveries.EventIds.Order());
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task ARelayKilledBetweenThePublishAndTheMarkPublishesItsGroupsAgainAndTheConsumerAbsorbsThem()
    {
        var broker = await RabbitMqBroker.SharedAsync();
        var ct = Timeout;
        var (producer, consumer) = await BrokerTests.CreateDatabasesAsync(ct);
        var deliveries = new DeliveryLog();
        using var host = await TestHosts.StartAsync(
            services => BrokerTests.AddConsumerModule(services, consumer, broker, deliveries, "recorder-groups-killed"), ct);
        var events = TestEvents.Enrolments("groups-killed-before-mark", 150);
        foreach (var transaction in events.Chunk(50))
        {
            await CopyAsync(producer, transaction, ct);
        }

        // The probe reads 20 rows a round (here three groups of 50) and kills itself once the broker confirmed its first
        // message, the first two groups (100 events, the most one message holds); the third's may have gone out beside it.
        using (var first = RelayProbe.Start(producer, broker, publishDelayMs: 0, dieAfterPublishes: 1))
        {
            await first.WaitForExitAsync(ct);
        }

        var firstWindow = events.Take(100).Select(e => e.EventId).ToHashSet();
        await Eventually.HoldsAsync(() => Task.FromResult(firstWindow.All(id => deliveries.CountOf(id) == 1)),
            TimeSpan.FromSeconds(30), "the consumer got the first two groups, published before the kill", ct);
        Assert.Equal(0, await TestData.PublishedAsync(producer, ct));

        using (var second = RelayProbe.Start(producer, broker, publishDelayMs: 0))
        {
            await Eventually.HoldsAsync(async () => await TestData.PendingAsync(producer, ct) == 0,
                TimeSpan.FromSeconds(40), "the second relay published and marked every group", ct);
            await Eventually.HoldsAsync(() => Task.FromResult(deliveries.Distinct == events.Count && firstWindow.All(id => deliveries.CountOf(id) >= 2)),
                TimeSpan.FromSeconds(30), "the consumer got every event, the first two groups twice", ct);
            second.Kill();
        }

        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).Received >= events.Count,
            TimeSpan.FromSeconds(30), "the consumer recorded every event", ct);
        output.WriteLine($"all consumed; {deliveries.Duplicates} duplicate deliveries absorbed");
        Assert.Equal((events.Count, events.Count), await TestData.ConsumerCountsAsync(consumer, ct));
        Assert.Equal(0, deliveries.Faults);
        await AssertPublishedKeepOnlyIdsAndTypesAsync(producer, events, ct);
        await host.StopAsync(ct);
    }

    private static List<OutboxMessage> Messages(IEnumerable<IIntegrationEvent> events) =>
        [.. events.Select(e => OutboxDbContextExtensions.NewOutboxMessage(e))];

    /// <summary>One transaction's events as the bulk writers add them: one binary COPY, grouped.</summary>
    private static async Task CopyAsync(ModuleDatabase producer, IReadOnlyList<ParticipantEnrolled> events, CancellationToken ct)
    {
        await using var db = TestData.Producer(producer);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.CopyOutboxMessagesAsync(Messages(events), ct);
        await transaction.CommitAsync(ct);
    }

    private static async Task AssertPublishedKeepOnlyIdsAndTypesAsync(ModuleDatabase producer, IReadOnlyList<ParticipantEnrolled> events, CancellationToken ct)
    {
        await using var db = TestData.Producer(producer);
        var listed = await db.OutboxEvents.ToListAsync(ct);
        Assert.Equal(events.Select(e => e.EventId).Order(), listed.Select(e => e.EventId).Order());
        Assert.All(listed, e =>
        {
            Assert.NotNull(e.PublishedAt);
            Assert.Equal("", e.Payload);
            Assert.Equal(typeof(ParticipantEnrolled).FullName, e.MessageType);
        });
        foreach (var row in await db.OutboxMessages.AsNoTracking().ToListAsync(ct))
        {
            Assert.Equal(OutboxEventGroup.MessageType, row.MessageType);
            // Each kept event is its id and type and nothing else (a substring check for a NIK's digits also matched random ids).
            using var kept = System.Text.Json.JsonDocument.Parse(row.Payload);
            Assert.All(kept.RootElement.EnumerateArray(), e => Assert.Equal(["eventId", "messageType"], e.EnumerateObject().Select(p => p.Name)));
        }
    }
}
