using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Verification.Platform.Bus;
using Verification.Platform.Outbox;

namespace Verification.LoadTests.Scenarios;

/// <summary>What happened when, relative to the start of the load, for the report.</summary>
public sealed class Timeline(Stopwatch clock, TextWriter output)
{
    private readonly List<string> events = [];

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (events) return [.. events];
        }
    }

    public TimeSpan Now => clock.Elapsed;

    public void Add(string what)
    {
        var line = $"t={clock.Elapsed.TotalSeconds,6:0.0} s  {what}";
        lock (events) events.Add(line);
        output.WriteLine("   " + line);
    }

    public Task UntilAsync(TimeSpan at, CancellationToken cancellationToken) =>
        at > clock.Elapsed ? Task.Delay(at - clock.Elapsed, cancellationToken) : Task.CompletedTask;
}

/// <summary>The faults, each run beside the load from <see cref="LoadOptions.FaultStart"/>.</summary>
public static class Faults
{
    /// <summary>fault-kill: SIGKILL each target module in turn (evenly spread over the load) and start it again.</summary>
    public static async Task KillAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        var targets = options.KillTargets;
        var last = options.Duration * 0.75;
        for (var i = 0; i < targets.Count; i++)
        {
            var at = targets.Count == 1 ? options.FaultStart : options.FaultStart + ((last - options.FaultStart) * i / (targets.Count - 1));
            await timeline.UntilAsync(at, cancellationToken);
            var host = suite.Hosts[targets[i]];
            timeline.Add($"SIGKILL {host.Module} (pid {host.Pid})");
            var serving = await suite.KillAndRestartAsync(host.Module, options.Down ?? TimeSpan.Zero, cancellationToken);
            timeline.Add($"{host.Module} restarted (pid {host.Pid}), SERVING {serving.TotalSeconds:0.0} s after its start");
        }
    }

    /// <summary>fault-broker: RabbitMQ stopped (graceful, durable queues survive) and started again after the down time.</summary>
    public static async Task BrokerAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        var broker = suite.Broker ?? throw new InvalidOperationException("fault-broker needs a RabbitMQ the harness started (no --rabbitmq).");
        await timeline.UntilAsync(options.FaultStart, cancellationToken);
        timeline.Add("stopping RabbitMQ");
        await broker.StopAsync(cancellationToken);
        timeline.Add("RabbitMQ stopped");
        await Task.Delay(options.Down ?? TimeSpan.FromSeconds(20), cancellationToken);
        timeline.Add("starting RabbitMQ");
        await broker.StartAsync(cancellationToken);
        timeline.Add("RabbitMQ started");
    }

    /// <summary>fault-postgres: PostgreSQL stopped (fast shutdown: sessions cut) and started again.</summary>
    public static async Task PostgresAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        var postgres = suite.Postgres ?? throw new InvalidOperationException("fault-postgres needs a PostgreSQL the harness started (no --postgres).");
        await timeline.UntilAsync(options.FaultStart, cancellationToken);
        timeline.Add("stopping PostgreSQL");
        await postgres.StopAsync(cancellationToken);
        timeline.Add("PostgreSQL stopped");
        await Task.Delay(options.Down ?? TimeSpan.FromSeconds(2), cancellationToken);
        await postgres.StartAsync(cancellationToken);
        timeline.Add("PostgreSQL started");
    }

    /// <summary>fault-membership-down: Membership's process gone (connections refused) for the down time, then back.</summary>
    public static async Task MembershipDownAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        await timeline.UntilAsync(options.FaultStart, cancellationToken);
        var down = options.Down ?? TimeSpan.FromSeconds(10);
        timeline.Add($"Membership unreachable for {down.TotalSeconds:0} s (process stopped)");
        var serving = await suite.KillAndRestartAsync("membership", down, cancellationToken);
        timeline.Add($"Membership back, SERVING {serving.TotalSeconds:0.0} s after its start");
    }

    /// <summary>fault-duplicate, mid-load: every published outbox row marked unpublished, so every relay publishes it again (same event id).</summary>
    public static async Task RepublishOutboxesAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        await timeline.UntilAsync(options.FaultStart, cancellationToken);
        long total = 0;
        foreach (var connectionString in suite.Databases.Values)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("UPDATE outbox_messages SET published_at = NULL WHERE published_at IS NOT NULL", connection);
            try
            {
                total += await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
            {
            }
        }

        timeline.Add($"{total} published outbox rows marked unpublished: the relays publish them a second time");
    }

    /// <summary>fault-duplicate, after the load: copies of outbox messages published straight to the exchanges, as a second publisher would.</summary>
    public static async Task<int> PublishCopiesAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddVerificationBus(new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(suite.RabbitMqUri) });
        await using var provider = services.BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        await bus.StartAsync(cancellationToken);
        var eventTypes = new OutboxEventTypes();
        var published = 0;
        try
        {
            foreach (var connectionString in suite.Databases.Values)
            {
                var rows = await SuiteProbe.QueryAsync(connectionString, "SELECT event_id, message_type, payload FROM outbox_messages ORDER BY random() LIMIT @n",
                    c => c.Parameters.AddWithValue("n", options.Duplicates), cancellationToken) ?? [];
                foreach (var row in rows)
                {
                    if (!eventTypes.TryResolve((string)row[1]!, out var type)) continue;
                    var message = JsonSerializer.Deserialize((string)row[2]!, type, OutboxEventTypes.PayloadJson)!;
                    var eventId = (Guid)row[0]!;
                    await bus.Publish(message, type, Pipe.Execute<PublishContext>(context => context.MessageId = eventId), cancellationToken);
                    published++;
                }
            }
        }
        finally
        {
            await bus.StopAsync(cancellationToken);
        }

        timeline.Add($"{published} copies of outbox messages published directly to the exchanges");
        return published;
    }
}
