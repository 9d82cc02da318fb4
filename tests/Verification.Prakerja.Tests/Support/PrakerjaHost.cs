using System.Collections.Concurrent;
using Verification.Api.Prakerja.V1;
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
using Verification.Prakerja.Data;
using Grpc.Core;
using Verification.Testing;
using Verification.Api.Channels;

namespace Verification.Prakerja.Tests.Support;

/// <summary>Collects the events the suite publishes, as Audit will consume them.</summary>
public sealed class EventCollector : IConsumer<PrakerjaBatchCompleted>, IConsumer<AccessDenied>
{
    public static readonly ConcurrentQueue<PrakerjaBatchCompleted> Completed = new();
    public static readonly ConcurrentQueue<AccessDenied> Denied = new();

    public Task Consume(ConsumeContext<PrakerjaBatchCompleted> context)
    {
        Completed.Enqueue(context.Message);
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
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// The real host composition in process on a port of its choosing: Membership, Prakerja and an event collector, on
/// SQLite (default) or PostgreSQL, with the in-memory bus. Prakerja calls Membership over gRPC through this same server.
/// </summary>
public sealed class PrakerjaHost : IAsyncDisposable
{
    public static readonly VerificationModule Events = new("events", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<EventCollector>());

    public static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, PrakerjaModule.Module, Events];

    private readonly WebApplication _app;
    private readonly List<VerificationChannel> _channels = [];

    private readonly bool _ownsDataDirectory;

    private PrakerjaHost(WebApplication app, string dataDirectory, int port, bool ownsDataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Port = port;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _app.Services;

    public PrakerjaStore Store => _app.Services.GetRequiredService<PrakerjaStore>();

    /// <summary>The stored batch behind a batch id the PMO was given.</summary>
    public async Task<CrossCheckBatch> BatchAsync(string batchId) =>
        await Store.FindSubmittedAsync(batchId, CancellationToken.None) ?? throw new InvalidOperationException($"No batch {batchId}.");

    public static Task<PrakerjaHost> StartAsync(params string[] settings) => StartInAsync(null, settings);

    /// <summary>Starts a host whose modules keep their data on <paramref name="provider"/> (fresh PostgreSQL databases, or SQLite files).</summary>
    public static async Task<PrakerjaHost> StartOnAsync(DatabaseProvider provider, params string[] settings) =>
        await StartInAsync(null, [.. await ProviderSettingsAsync(provider), .. settings]);

    /// <summary>The settings that put the modules on <paramref name="provider"/>: none for SQLite, fresh databases for PostgreSQL.</summary>
    public static async Task<string[]> ProviderSettingsAsync(DatabaseProvider provider) =>
        provider == DatabaseProvider.Postgres ? await PostgresSettingsAsync() : [];

    /// <summary>Starts a host on <paramref name="dataDirectory"/> (kept on dispose), or on a fresh one (deleted) when null.</summary>
    public static Task<PrakerjaHost> StartInAsync(string? dataDirectory, params string[] settings) => StartInAsync(dataDirectory, [], settings);

    /// <summary>As <see cref="StartInAsync(string?, string[])"/>, with test modules beside the catalog's.</summary>
    public static async Task<PrakerjaHost> StartInAsync(string? dataDirectory, IReadOnlyList<VerificationModule> extraModules, params string[] settings)
    {
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "verification-prakerja-tests-" + Guid.NewGuid().ToString("N"));
        var args = new List<string>
        {
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            "--Verification:Access:RatePerSecond=100000",
            "--Verification:Access:Burst=100000",
            // Tests wait for the worker: let it look often, and make chunks small enough that batches have several.
            "--Verification:Prakerja:PollInterval=00:00:00.200",
            "--Verification:Prakerja:ChunkSize=1000",
        };
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder(args.ToArray());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        IReadOnlyList<VerificationModule> catalog = [.. Catalog, .. extraModules];
        builder.AddVerificationHost(catalog);
        var app = builder.Build();
        app.MapVerificationHost(catalog);
        await app.StartAsync();
        return new PrakerjaHost(app, data, new Uri(app.Urls.First()).Port, dataDirectory is null);
    }

    /// <summary>Settings for PostgreSQL: fresh databases on the shared throwaway server for Membership, Prakerja and access.</summary>
    public static async Task<string[]> PostgresSettingsAsync()
    {
        var postgres = await PostgresServer.SharedAsync();
        var settings = new List<string> { "Verification:Database:Provider=Postgres" };
        foreach (var module in new[] { "membership", "prakerja", "access" })
            settings.Add($"Verification:Database:ConnectionStrings:{module}={await postgres.CreateDatabaseAsync(module)}");
        // The collector has no database, but every module a PostgreSQL host runs must name one.
        settings.Add("Verification:Database:ConnectionStrings:events=Host=127.0.0.1;Database=unused");
        settings.Add("Verification:Database:ConnectionStrings:first-chunks-only=Host=127.0.0.1;Database=unused");
        return [.. settings];
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public PrakerjaService.PrakerjaServiceClient Prakerja(string member = "prakerja-pmo") => new(Channel(member));

    public MembershipService.MembershipServiceClient Membership(string member = DevelopmentMembers.InternalMember) => new(Channel(member));

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_ownsDataDirectory) return;
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
