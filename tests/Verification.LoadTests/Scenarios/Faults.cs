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

    /// <summary>The job lease the audit log's writer holds (Verification.Audit's AppendSession.WriterJob).</summary>
    private const string AuditWriterJob = "audit-log-writer";

    /// <summary>
    /// fault-kill-replica: with two or more replicas per module, SIGKILL one replica of each target module in turn (evenly
    /// spread over the load) and start it again: for audit the replica holding the writer lease, for the others the last.
    /// </summary>
    public static async Task KillReplicaAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        var targets = options.KillTargetsGiven ? options.KillTargets : suite.Modules;
        var last = options.Duration * 0.75;
        // Each killed replica restarts in the background, so every kill lands within the load however slow a start is.
        var restarts = new List<Task>();
        for (var i = 0; i < targets.Count; i++)
        {
            var at = targets.Count == 1 ? options.FaultStart : options.FaultStart + ((last - options.FaultStart) * i / (targets.Count - 1));
            await timeline.UntilAsync(at, cancellationToken);
            var replicas = suite.ReplicasOf(targets[i]);
            var victim = targets[i] == "audit" ? await AuditWriterAsync(suite, cancellationToken) : replicas[^1];
            var role = targets[i] == "audit" ? "the audit log's writer" : $"replica {replicas.ToList().IndexOf(victim) + 1} of {replicas.Count}";
            timeline.Add($"SIGKILL {victim.Module} {role} (pid {victim.Pid})");
            restarts.Add(RestartAsync(victim));
        }

        await Task.WhenAll(restarts);

        async Task RestartAsync(ModuleProcess victim)
        {
            var serving = await suite.KillAndRestartAsync(victim, options.Down ?? TimeSpan.Zero, cancellationToken);
            timeline.Add($"{victim.Module} restarted (pid {victim.Pid}), SERVING {serving.TotalSeconds:0.0} s after its start");
        }
    }

    /// <summary>The audit replica whose process holds the writer lease (its holder name is host/pid/random).</summary>
    private static async Task<ModuleProcess> AuditWriterAsync(Suite suite, CancellationToken cancellationToken)
    {
        var leases = new Platform.Leases.JobLeases(new Platform.Data.ModuleDatabase("audit", Platform.Data.DatabaseProvider.Postgres, suite.Databases["audit"]));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (await leases.HolderAsync(AuditWriterJob, cancellationToken) is { } lease
                && int.TryParse(lease.Holder.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture, out var pid)
                && suite.ReplicasOf("audit").FirstOrDefault(r => r.Pid == pid) is { } writer)
                return writer;
            if (DateTime.UtcNow > until) throw new InvalidOperationException("No audit replica held the writer lease for 30 s.");
            await Task.Delay(100, cancellationToken);
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

    // fault-duplicate's copies: pending outbox rows read while the load runs (a published row keeps no payload).
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Suite, List<(Guid EventId, string Type, string Payload)>> Copies = [];

    /// <summary>
    /// fault-duplicate, mid-load: reads pending outbox rows as a second publisher would and publishes each at once, so the
    /// same event id reaches the bus before or after the relay's own publish, as after a relay that died between publishing and marking.
    /// </summary>
    public static async Task RepublishOutboxesAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        await timeline.UntilAsync(options.FaultStart, cancellationToken);
        var copies = Copies.GetValue(suite, _ => []);
        var seen = new HashSet<Guid>();
        await using var publisher = await CopyPublisher.StartAsync(suite, cancellationToken);
        var published = 0;
        var taken = suite.Databases.Keys.ToDictionary(module => module, _ => 0);
        // Round after round until the load ends: the relays are quick, so each module's rows are caught pending a few at a time.
        while (timeline.Now < options.Duration && taken.Values.Any(n => n < options.Duplicates))
        {
            var found = 0;
            foreach (var (module, connectionString) in suite.Databases.Where(d => taken[d.Key] < options.Duplicates))
            {
                var rows = await SuiteProbe.QueryAsync(connectionString,
                    "SELECT event_id, message_type, payload FROM outbox_events WHERE published_at IS NULL AND payload <> '' ORDER BY sequence_id DESC LIMIT @n",
                    c => c.Parameters.AddWithValue("n", options.Duplicates - taken[module]), cancellationToken) ?? [];
                foreach (var row in rows.Where(r => seen.Add((Guid)r[0]!)))
                {
                    var copy = ((Guid)row[0]!, (string)row[1]!, (string)row[2]!);
                    copies.Add(copy);
                    published += await publisher.PublishAsync(copy, cancellationToken) ? 1 : 0;
                    taken[module]++;
                    found++;
                }
            }

            if (found == 0) await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }

        timeline.Add($"{published} pending outbox rows published a second time beside their relays");
    }

    /// <summary>fault-duplicate, after the load: the copies taken mid-load published once more, now surely after the originals.</summary>
    public static async Task<int> PublishCopiesAsync(Suite suite, LoadOptions options, Timeline timeline, CancellationToken cancellationToken)
    {
        await using var publisher = await CopyPublisher.StartAsync(suite, cancellationToken);
        var published = 0;
        foreach (var copy in Copies.GetValue(suite, _ => []))
        {
            published += await publisher.PublishAsync(copy, cancellationToken) ? 1 : 0;
        }

        timeline.Add($"{published} copies of outbox messages published directly to the exchanges");
        return published;
    }

    /// <summary>A second publisher on the suite's broker, publishing stored outbox payloads under their own event ids.</summary>
    private sealed class CopyPublisher(ServiceProvider provider, IBusControl bus) : IAsyncDisposable
    {
        private readonly OutboxEventTypes eventTypes = new();

        public static async Task<CopyPublisher> StartAsync(Suite suite, CancellationToken cancellationToken)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddVerificationBus(new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(suite.RabbitMqUri) });
            var provider = services.BuildServiceProvider();
            var bus = provider.GetRequiredService<IBusControl>();
            await bus.StartAsync(cancellationToken);
            return new CopyPublisher(provider, bus);
        }

        public async Task<bool> PublishAsync((Guid EventId, string Type, string Payload) copy, CancellationToken cancellationToken)
        {
            if (!eventTypes.TryResolve(copy.Type, out var type)) return false;
            var message = JsonSerializer.Deserialize(copy.Payload, type, OutboxEventTypes.PayloadJson)!;
            await bus.Publish(message, type, Pipe.Execute<PublishContext>(context => context.MessageId = copy.EventId), cancellationToken);
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            await bus.StopAsync(CancellationToken.None);
            await provider.DisposeAsync();
        }
    }
}
