using System.Collections.Concurrent;
using Verification.Api.Kur.V1;
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

namespace Verification.Kur.Tests.Support;

/// <summary>Collects the events the suite publishes, as Audit will consume them.</summary>
public sealed class EventCollector : IConsumer<KurBorrowerEnrolled>, IConsumer<KurEnrolmentCancelled>, IConsumer<AccessDenied>
{
    public static readonly ConcurrentQueue<KurBorrowerEnrolled> Enrolled = new();
    public static readonly ConcurrentQueue<KurEnrolmentCancelled> Cancelled = new();
    public static readonly ConcurrentQueue<AccessDenied> Denied = new();

    public Task Consume(ConsumeContext<KurBorrowerEnrolled> context)
    {
        Enrolled.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<KurEnrolmentCancelled> context)
    {
        Cancelled.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<AccessDenied> context)
    {
        Denied.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    /// <summary>Waits until <paramref name="condition"/> holds (events arrive through the outbox relay, asynchronously).</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// The real host composition in process on a port of its choosing: Membership, KUR and an event collector, on SQLite
/// or PostgreSQL, with the in-memory bus or RabbitMQ. Two hosts can split the modules (<c>Verification:Services</c>)
/// and share one members file, as separate processes would.
/// </summary>
public sealed class KurHost : IAsyncDisposable
{
    public static readonly VerificationModule Events = new("events", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<EventCollector>());

    public static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, KurModule.Module, Events];

    private readonly WebApplication _app;
    private readonly bool _ownsDataDirectory;
    private readonly List<VerificationChannel> _channels = [];

    private KurHost(WebApplication app, string dataDirectory, string credentials, int port, bool ownsDataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        CredentialsDirectory = credentials;
        Port = port;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public string DataDirectory { get; }

    /// <summary>Where the members' development tokens are (this host's, or those of the host whose members file it shares).</summary>
    public string CredentialsDirectory { get; }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a host. <paramref name="dataDirectory"/> null: a fresh one, deleted on dispose.</summary>
    public static async Task<KurHost> StartAsync(
        string? dataDirectory = null, int port = 0, KurHost? shareMembersWith = null, Action<IServiceCollection>? services = null, params string[] settings)
    {
        var owns = dataDirectory is null;
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "verification-kur-tests-" + Guid.NewGuid().ToString("N"));
        var args = new List<string>
        {
            $"--Verification:Listen:Port={port}",
            $"--Verification:Database:DataDirectory={data}",
            // Concurrency tests fire hundreds of calls from one member at once.
            "--Verification:Access:RatePerSecond=100000",
            "--Verification:Access:Burst=100000",
        };
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
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapVerificationHost(Catalog);
        await app.StartAsync();
        return new KurHost(app, data, credentials, new Uri(app.Urls.First()).Port, owns);
    }

    /// <summary>
    /// The database settings of a host running <paramref name="modules"/>: none on SQLite (files in its data directory); on
    /// PostgreSQL fresh databases on the shared throwaway server for each module and the access denials.
    /// </summary>
    public static async Task<string[]> DatabaseSettingsAsync(DatabaseProvider provider, params string[] modules)
    {
        if (provider == DatabaseProvider.Sqlite) return [];
        var postgres = await PostgresServer.SharedAsync();
        var settings = new List<string> { "Verification:Database:Provider=Postgres" };
        foreach (var module in modules.Append("access"))
            settings.Add($"Verification:Database:ConnectionStrings:{module}={await postgres.CreateDatabaseAsync(module)}");
        // The event collector has no database, but every module a PostgreSQL host runs must name one.
        if (modules.Contains(Events.Name)) settings.Add($"Verification:Database:ConnectionStrings:{Events.Name}=Host=127.0.0.1;Database=unused");
        return [.. settings];
    }

    /// <summary>Settings for PostgreSQL (fresh databases on the shared throwaway server) and RabbitMQ (the shared throwaway broker).</summary>
    public static async Task<string[]> PostgresAndRabbitMqSettingsAsync(params string[] modules)
    {
        var broker = await RabbitMqBroker.SharedAsync();
        return [.. await DatabaseSettingsAsync(DatabaseProvider.Postgres, modules), "Verification:Bus:Transport=RabbitMq", $"Verification:Bus:RabbitMqUri={broker.AmqpUri}"];
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(CredentialsDirectory, member + ".token")).Trim();

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public KurService.KurServiceClient Kur(string member = "bank-bri") => new(Channel(member));

    public MembershipService.MembershipServiceClient Membership(string member = DevelopmentMembers.InternalMember) => new(Channel(member));

    public async Task StopAsync() => await _app.StopAsync();

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
