using System.Collections.Concurrent;
using Verification.Api.NonAsn.V1;
using Verification.Api.Membership.V1;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Contracts.Events;
using Verification.Membership;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Testing;
using Verification.Api.Channels;

namespace Verification.NonAsn.Tests.Support;

/// <summary>The events one host's collector consumed (per host: participant numbers repeat across hosts' databases).</summary>
public sealed class EventLog
{
    public ConcurrentQueue<NonAsnEmployeeRegistered> Registered { get; } = new();
    public ConcurrentQueue<NonAsnWageChanged> WageChanged { get; } = new();
    public ConcurrentQueue<NonAsnEmploymentEnded> Ended { get; } = new();
    public ConcurrentQueue<AccessDenied> Denied { get; } = new();
    public ConcurrentQueue<ParticipantEnrolled> Enrolled { get; } = new();
    public ConcurrentQueue<CoverageStarted> CoverageStarted { get; } = new();
    public ConcurrentQueue<CoverageEnded> CoverageEnded { get; } = new();

    /// <summary>
    /// Waits for the events of <paramref name="registered"/> rows, then checks each came once: one NonAsnEmployeeRegistered
    /// per employment, one ParticipantEnrolled and one CoverageStarted per participant, whatever the repeats.
    /// </summary>
    public async Task AssertRegisteredOnceAsync(IReadOnlyCollection<Verification.Api.NonAsn.V1.EmployeeRowResult> registered)
    {
        var ids = registered.Select(r => r.EmploymentId).ToHashSet();
        var numbers = registered.Select(r => r.ParticipantNumber).ToHashSet();
        await WaitForAsync(() => ids.All(id => Registered.Any(e => e.EmploymentId == id)), "NonAsnEmployeeRegistered");
        await WaitForAsync(() => CoverageStarted.Count(e => numbers.Contains(e.ParticipantNumber)) >= registered.Count, "CoverageStarted");
        // Time for a duplicate to arrive, were there one.
        await Task.Delay(500);
        Assert.Equal(registered.Count, Registered.Count(e => ids.Contains(e.EmploymentId)));
        Assert.Equal(registered.Count, Enrolled.Count(e => numbers.Contains(e.ParticipantNumber)));
        Assert.Equal(registered.Count, CoverageStarted.Count(e => numbers.Contains(e.ParticipantNumber)));
    }

    /// <summary>Waits until <paramref name="condition"/> holds (events arrive through the outbox relay, asynchronously).</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>Collects the events the suite publishes into its host's <see cref="EventLog"/>, as Audit will consume them.</summary>
public sealed class EventCollector(EventLog log) :
    IConsumer<NonAsnEmployeeRegistered>, IConsumer<NonAsnWageChanged>, IConsumer<NonAsnEmploymentEnded>,
    IConsumer<AccessDenied>, IConsumer<ParticipantEnrolled>, IConsumer<CoverageStarted>, IConsumer<CoverageEnded>
{
    public Task Consume(ConsumeContext<NonAsnEmployeeRegistered> context) => Add(log.Registered, context.Message);

    public Task Consume(ConsumeContext<NonAsnWageChanged> context) => Add(log.WageChanged, context.Message);

    public Task Consume(ConsumeContext<NonAsnEmploymentEnded> context) => Add(log.Ended, context.Message);

    public Task Consume(ConsumeContext<AccessDenied> context) => Add(log.Denied, context.Message);

    public Task Consume(ConsumeContext<ParticipantEnrolled> context) => Add(log.Enrolled, context.Message);

    public Task Consume(ConsumeContext<CoverageStarted> context) => Add(log.CoverageStarted, context.Message);

    public Task Consume(ConsumeContext<CoverageEnded> context) => Add(log.CoverageEnded, context.Message);

    private static Task Add<T>(ConcurrentQueue<T> queue, T message)
    {
        queue.Enqueue(message);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The real host composition in process on a port of its choosing: Membership, NonAsn and an event collector, on SQLite
/// or PostgreSQL, with the in-memory bus or RabbitMQ. Two hosts can split the modules and share one members file.
/// </summary>
public sealed class NonAsnHost : IAsyncDisposable
{
    public static readonly VerificationModule Collector = new("events", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<EventCollector>());

    public static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, NonAsnModule.Module, Collector];

    private readonly WebApplication _app;
    private readonly bool _ownsDataDirectory;
    private readonly List<VerificationChannel> _channels = [];

    private NonAsnHost(WebApplication app, string dataDirectory, string credentials, int port, bool ownsDataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        CredentialsDirectory = credentials;
        Port = port;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public string DataDirectory { get; }

    public string CredentialsDirectory { get; }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _app.Services;

    /// <summary>What this host's collector consumed (empty unless the host runs the "events" module).</summary>
    public EventLog Events => _app.Services.GetRequiredService<EventLog>();

    public static async Task<NonAsnHost> StartAsync(string? dataDirectory = null, NonAsnHost? shareMembersWith = null, Action<IServiceCollection>? services = null, params string[] settings)
    {
        var owns = dataDirectory is null;
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "verification-nonasn-tests-" + Guid.NewGuid().ToString("N"));
        var args = new List<string>
        {
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            "--Verification:Access:RatePerSecond=100000",
            "--Verification:Access:Burst=100000",
            // A chunk of 500 enrolments on a 2-core machine shared with other builds can take seconds: no spurious deadline.
            "--Verification:Internal:DefaultDeadline=00:01:00",
        };
        // Events seal NIKs to the process's test pair, so a test can open what was published.
        args.AddRange(TestNikKeys.Settings.Select(s => "--" + s));
        var credentials = Path.Combine(data, "dev-credentials");
        if (shareMembersWith is not null)
        {
            args.Add($"--Verification:Access:MembersFile={Path.Combine(shareMembersWith.DataDirectory, "members.json")}");
            args.Add($"--Verification:Internal:TokenFile={Path.Combine(shareMembersWith.CredentialsDirectory, DevelopmentMembers.InternalMember + ".token")}");
            credentials = shareMembersWith.CredentialsDirectory;
        }

        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder(args.ToArray());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost(Catalog);
        builder.Services.AddSingleton<EventLog>();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapVerificationHost(Catalog);
        await app.StartAsync();
        return new NonAsnHost(app, data, credentials, new Uri(app.Urls.First()).Port, owns);
    }

    /// <summary>
    /// One monolithic host (Membership, NonAsn, the collector; in-memory bus) on <paramref name="provider"/>: SQLite files
    /// of its own, or fresh databases on the shared throwaway PostgreSQL.
    /// </summary>
    public static async Task<NonAsnHost> StartOnAsync(DatabaseProvider provider, Action<IServiceCollection>? services = null) => provider switch
    {
        DatabaseProvider.Sqlite => await StartAsync(services: services),
        DatabaseProvider.Postgres => await StartAsync(services: services, settings: [.. await PostgresSettingsAsync("membership", "nonasn"), NoEventsDatabase]),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Not a database provider."),
    };

    /// <summary>The collector has no database, but every module a PostgreSQL host runs must name one.</summary>
    public const string NoEventsDatabase = "Verification:Database:ConnectionStrings:events=Host=127.0.0.1;Database=unused";

    /// <summary>Settings for PostgreSQL (fresh databases on the shared throwaway server) and RabbitMQ (the shared throwaway broker).</summary>
    public static async Task<string[]> PostgresAndRabbitMqSettingsAsync(params string[] modules)
    {
        var broker = await RabbitMqBroker.SharedAsync();
        return [.. await PostgresSettingsAsync(modules), "Verification:Bus:Transport=RabbitMq", $"Verification:Bus:RabbitMqUri={broker.AmqpUri}"];
    }

    /// <summary>Settings for PostgreSQL: a fresh database on the shared throwaway server for each module and for access.</summary>
    private static async Task<string[]> PostgresSettingsAsync(params string[] modules)
    {
        var postgres = await PostgresServer.SharedAsync();
        var settings = new List<string> { "Verification:Database:Provider=Postgres" };
        foreach (var module in modules.Append("access"))
            settings.Add($"Verification:Database:ConnectionStrings:{module}={await postgres.CreateDatabaseAsync(module)}");
        return [.. settings];
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(CredentialsDirectory, member + ".token")).Trim();

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public NonAsnService.NonAsnServiceClient NonAsn(string member = TestData.Kemnaker) => new(Channel(member));

    public MembershipService.MembershipServiceClient Membership(string member = DevelopmentMembers.InternalMember) => new(Channel(member));

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (!_ownsDataDirectory) return;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }
}

/// <summary>
/// One monolithic host per database provider (SQLite; PostgreSQL), each with Membership, NonAsn and the collector on the
/// in-memory bus, shared by a class's tests: a test takes its provider as a theory argument (<see cref="BothProvidersAttribute"/>).
/// </summary>
public class MonolithicHostsFixture : ProviderHosts<NonAsnHost>
{
    protected override Task<NonAsnHost> StartOnAsync(DatabaseProvider provider) => NonAsnHost.StartOnAsync(provider, Configure);

    /// <summary>Changes to both hosts' services (a fixture for fault tests stands in for a dependency here).</summary>
    protected virtual void Configure(IServiceCollection services)
    {
    }
}
