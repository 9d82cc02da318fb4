using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Platform.Tests.Support;
using Verification.Testing;

namespace Verification.Platform.Tests;

/// <summary><c>Verification:Bus:QuorumQueues</c> on a real RabbitMQ (one node: a quorum queue of one member, the same declaration a cluster replicates).</summary>
[Collection(BrokerCollection.Name)]
public sealed class QuorumQueueTests
{
    [Theory]
    [InlineData(true, "quorum")]
    [InlineData(false, "classic")]
    public async Task ConsumersQueuesAreQuorumQueuesExactlyWhenConfiguredAndEventsStillFlowThroughThem(bool quorum, string expectedType)
    {
        var ct = new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;
        var broker = await RabbitMqBroker.SharedAsync();
        var postgres = await PostgresServer.SharedAsync();
        var producer = new ModuleDatabase("producer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("producer", ct));
        var consumer = new ModuleDatabase("consumer", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("consumer", ct));
        await new SchemaMigrator().ApplyPlatformAsync(producer.Provider, producer.ConnectionString, ct);
        var queue = $"quorum-{quorum}-{Guid.NewGuid():N}";
        using var host = await TestHosts.StartAsync(services =>
        {
            services.AddModuleDatabase<ProducerDbContext>(producer);
            services.AddModuleDatabase<ConsumerDbContext>(consumer, typeof(ConsumerDbContext).Assembly, ConsumerDbContext.MigrationsNamespace);
            services.AddVerificationBus(
                new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(broker.AmqpUri), QuorumQueues = quorum },
                bus => bus.AddEventConsumer<ParticipantEnrolledRecorder>(e => e.Name = queue));
            services.AddOutboxRelay<ProducerDbContext>(TestHosts.FastRelay);
        }, ct);

        var events = TestEvents.Enrolments("quorum", 20);
        await TestData.WriteAsync(producer, events, perTransaction: 10, ct);
        await Eventually.HoldsAsync(async () => (await TestData.ConsumerCountsAsync(consumer, ct)).DistinctReceived == events.Count,
            TimeSpan.FromSeconds(60), "the consumer processed every event", ct);

        // A queue's type is fixed at declaration: re-declaring it with its own type succeeds, with the other fails (406).
        Assert.True(await RedeclaresAsync(broker, queue, expectedType, ct), $"{queue} is not a {expectedType} queue");
        Assert.False(await RedeclaresAsync(broker, queue, quorum ? "classic" : "quorum", ct), $"{queue} accepted the other queue type");
        await host.StopAsync(ct);
    }

    private static async Task<bool> RedeclaresAsync(RabbitMqBroker broker, string queue, string type, CancellationToken ct)
    {
        var factory = new ConnectionFactory { Uri = broker.AmqpUri, RequestedConnectionTimeout = TimeSpan.FromSeconds(5) };
        await using var connection = await factory.CreateConnectionAsync(ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        try
        {
            // MassTransit declares its queues durable and not auto-deleted; only the type is in question.
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = type }, cancellationToken: ct);
            return true;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }
}
