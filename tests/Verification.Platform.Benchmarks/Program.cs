using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Testing;

// Usage: Verification.Platform.Benchmarks [events (default 50000)] [--concurrency N] [--batch N] [--events-per-message N] [--no-consumer]
// A throwaway PostgreSQL (fsync off) and RabbitMQ; N events written to one outbox with COPY before the relay starts;
// prints how fast the relay publishes them (broker-confirmed) and a consumer receives them, and CPU per event.
var events = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50_000;
var relayOptions = new OutboxOptions();
var consume = !args.Contains("--no-consumer");
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--concurrency") relayOptions.PublishConcurrency = int.Parse(args[++i], CultureInfo.InvariantCulture);
    if (args[i] == "--batch") relayOptions.BatchSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
    if (args[i] == "--events-per-message") relayOptions.EventsPerMessage = int.Parse(args[++i], CultureInfo.InvariantCulture);
}

var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
Console.WriteLine($"== outbox relay: {events:N0} events, batch {relayOptions.BatchSize}, {relayOptions.EventsPerMessage} events per message, {relayOptions.PublishConcurrency} publishes in flight; "
    + $"{Environment.ProcessorCount} cores, load average {string.Join(' ', load)}");
var postgres = await PostgresServer.SharedAsync();
var broker = await RabbitMqBroker.SharedAsync();
var brokerRoot = broker.ContainerId is { } container ? await BrokerCpu.ContainerPidAsync(container) : null;
Console.WriteLine($"   RabbitMQ CPU counted: {(brokerRoot is null ? "every Erlang process of the machine" : $"the tree of pid {brokerRoot}")}");
var database = new ModuleDatabase("bench", DatabaseProvider.Postgres, await postgres.CreateDatabaseAsync("relaybench"));
await new SchemaMigrator().ApplyPlatformAsync(database.Provider, database.ConnectionString, CancellationToken.None);

var clock = Stopwatch.StartNew();
await using (var db = new BenchDbContext(new DbContextOptionsBuilder<BenchDbContext>().UseModuleDatabase(database).Options))
{
    foreach (var chunk in Enumerable.Range(0, events).Chunk(10_000))
    {
        await using var transaction = await db.Database.BeginTransactionAsync();
        await db.CopyOutboxMessagesAsync(chunk.Select(n => OutboxDbContextExtensions.NewOutboxMessage(Enrolled(n))).ToList(), CancellationToken.None);
        await transaction.CommitAsync();
    }
}

Console.WriteLine($"   {events:N0} outbox rows written in {clock.Elapsed.TotalSeconds:F1} s");

var received = new Counter();
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.Configure<MassTransitHostOptions>(o => o.WaitUntilStarted = true);
builder.Services.AddSingleton(received);
builder.Services.AddModuleDatabase<BenchDbContext>(database);
builder.Services.AddVerificationBus(
    new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(broker.AmqpUri) },
    bus =>
    {
        // Without a consumer the exchange has no queue bound: the broker confirms and drops, isolating the relay's cost.
        if (consume) bus.AddEventConsumer<CountingConsumer>(e => e.Name = "relay-bench-" + Guid.NewGuid().ToString("N"));
    });
builder.Services.AddOutboxRelay<BenchDbContext>(o =>
{
    o.BatchSize = relayOptions.BatchSize;
    o.PublishConcurrency = relayOptions.PublishConcurrency;
    o.EventsPerMessage = relayOptions.EventsPerMessage;
});
using var host = builder.Build();

var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var brokerBefore = BrokerCpu.Read(brokerRoot);
clock.Restart();
await host.StartAsync();
TimeSpan? publishedAt = null;
var lastSample = TimeSpan.Zero;
while (true)
{
    await Task.Delay(200);
    var published = await PublishedAsync(database.ConnectionString);
    if (publishedAt is null && published >= events) publishedAt = clock.Elapsed;
    if (clock.Elapsed - lastSample >= TimeSpan.FromSeconds(5))
    {
        lastSample = clock.Elapsed;
        Console.WriteLine($"   t={clock.Elapsed.TotalSeconds,5:F1} s  published {published,9:N0}  received {received.Value,9:N0}");
    }

    if (publishedAt is not null && (!consume || received.Value >= events)) break;
    if (clock.Elapsed > TimeSpan.FromMinutes(30)) throw new TimeoutException("not drained in 30 minutes");
}

var total = clock.Elapsed;
var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
var brokerCpu = BrokerCpu.Read(brokerRoot) - brokerBefore;
await host.StopAsync();
Console.WriteLine($"   published (confirmed, marked) {events:N0} in {publishedAt!.Value.TotalSeconds:F1} s: {events / publishedAt.Value.TotalSeconds:N0} events/s");
if (consume) Console.WriteLine($"   received by the consumer      {received.Value:N0} in {total.TotalSeconds:F1} s: {events / total.TotalSeconds:N0} events/s");
Console.WriteLine($"   CPU of this process (relay, consumer, bus): {cpu.TotalSeconds:F1} s, {cpu.TotalMilliseconds * 1000 / events:F0} µs per event");
Console.WriteLine($"   CPU of RabbitMQ: {brokerCpu.TotalSeconds:F1} s, {brokerCpu.TotalMilliseconds * 1000 / events:F0} µs per event; load average at the end {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3])}");
await postgres.DropDatabaseAsync(database.ConnectionString);
return 0;

static async Task<long> PublishedAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT count(*) FROM outbox_messages WHERE published_at IS NOT NULL", connection);
    return (long)(await command.ExecuteScalarAsync())!;
}

static ParticipantEnrolled Enrolled(int number) => new(
    EventId: Guid.NewGuid(),
    OccurredAt: DateTimeOffset.UtcNow,
    CorrelationId: "relay-bench",
    ActingMember: "BANK-002",
    SourceModule: "kur",
    ParticipantNumber: (10_000_000_000L + number).ToString(CultureInfo.InvariantCulture),
    SealedNik: new SealedNik("test", ""),
    MaskedNik: "3374••••••••0001",
    Segment: "BPU",
    Channel: "kur");

/// <summary>CPU time of the broker's Erlang processes from /proc (the tree of its container's first process when known).</summary>
internal static class BrokerCpu
{
    // USER_HZ: the unit of utime and stime in /proc/PID/stat.
    private const double TicksPerSecond = 100;

    public static async Task<int?> ContainerPidAsync(string container)
    {
        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", ["inspect", "-f", "{{.State.Pid}}", container]) { RedirectStandardOutput = true, RedirectStandardError = true });
            if (docker is null) return null;
            var output = await docker.StandardOutput.ReadToEndAsync();
            await docker.WaitForExitAsync();
            return docker.ExitCode == 0 && int.TryParse(output.Trim(), out var pid) && pid > 0 ? pid : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public static TimeSpan Read(int? root)
    {
        if (!OperatingSystem.IsLinux()) return TimeSpan.Zero;
        var processes = new Dictionary<int, (int Parent, string Name, double Ticks)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open) continue;
            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length < 13) continue;
            processes[pid] = (int.Parse(fields[1], CultureInfo.InvariantCulture), stat[(open + 1)..close],
                double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture));
        }

        var ticks = processes
            .Where(p => p.Value.Name is "beam.smp" or "erl_child_setup" or "epmd" && (root is not { } r || Descends(processes, p.Key, r)))
            .Sum(p => p.Value.Ticks);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    private static bool Descends(Dictionary<int, (int Parent, string Name, double Ticks)> processes, int pid, int root)
    {
        for (var current = pid; current > 1; current = processes.TryGetValue(current, out var p) ? p.Parent : 0)
        {
            if (current == root) return true;
        }

        return false;
    }
}

internal sealed class BenchDbContext(DbContextOptions<BenchDbContext> options) : ModuleDbContext(options);

internal sealed class Counter
{
    private long value;

    public long Value => Interlocked.Read(ref value);

    public void Increment() => Interlocked.Increment(ref value);
}

internal sealed class CountingConsumer(Counter counter) : IConsumer<ParticipantEnrolled>
{
    public Task Consume(ConsumeContext<ParticipantEnrolled> context)
    {
        counter.Increment();
        return Task.CompletedTask;
    }
}
