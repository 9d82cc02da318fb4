using MassTransit;
using Microsoft.AspNetCore.Builder;
using Verification.Api.Membership.V1;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Membership.Data;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Testing;
using Verification.Api.Channels;

namespace Verification.Membership.Tests.Support;

/// <summary>The real host composition with the membership module only, in process on a free port, on SQLite or a fresh PostgreSQL database.</summary>
public sealed class MembershipHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string? _postgresDatabase;
    private readonly List<VerificationChannel> _channels = [];
    private PostgresServer? _server;

    private MembershipHost(WebApplication app, string dataDirectory, string address, string? postgresDatabase)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = address;
        _postgresDatabase = postgresDatabase;
    }

    public string DataDirectory { get; }

    public string Address { get; }

    public IServiceProvider Services => _app.Services;

    public PublishedEvents Published { get; private init; } = null!;

    /// <summary>
    /// What was published once the outbox holds no unpublished row: then every event committed before this call is in it
    /// (the relay marks a row only after the bus took it).
    /// </summary>
    public async Task<PublishedEvents> PublishedAsync()
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (await QueryAsync(db => db.OutboxMessages.CountAsync(m => m.PublishedAt == null)) > 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("The outbox still holds unpublished rows after 60 s.");
            await Task.Delay(20);
        }

        return Published;
    }

    public static Task<MembershipHost> StartSqliteAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>On a fresh database of the shared throwaway PostgreSQL; fails (never skips) when PostgreSQL cannot start.</summary>
    public static async Task<MembershipHost> StartPostgresAsync(params string[] settings) =>
        await StartPostgresAsync(await PostgresServer.SharedAsync(), settings);

    /// <summary>On fresh databases of the given throwaway PostgreSQL (a dedicated one, for tests that stop it).</summary>
    public static async Task<MembershipHost> StartPostgresAsync(PostgresServer server, params string[] settings)
    {
        var membership = await server.CreateDatabaseAsync("membership");
        var access = await server.CreateDatabaseAsync("access");
        var host = await StartAsync(membership, [
            "Verification:Database:Provider=Postgres",
            $"Verification:Database:ConnectionStrings:membership={membership}",
            $"Verification:Database:ConnectionStrings:access={access}",
            .. settings,
        ]);
        host._server = server;
        return host;
    }

    private static async Task<MembershipHost> StartAsync(string? postgres, string[] settings)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-membership-tests-" + Guid.NewGuid().ToString("N"));
        var args = new List<string>
        {
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            // Concurrency tests fire hundreds of calls from one member at once.
            "--Verification:Access:RatePerSecond=100000",
            "--Verification:Access:Burst=100000",
        };
        // Events seal NIKs to the process's test pair, so a test can open what was published.
        args.AddRange(TestNikKeys.Settings.Select(s => "--" + s));
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder(args.ToArray());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost([MembershipModule.Module]);
        var app = builder.Build();
        app.MapVerificationHost([MembershipModule.Module]);
        var published = new PublishedEvents();
        app.Services.GetRequiredService<IBus>().ConnectPublishObserver(published);
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new MembershipHost(app, data, $"http://127.0.0.1:{port}", postgres) { Published = published };
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    /// <summary>A typed client authenticated as a development member (internal-services, bank-bri, auditor-bpk, ...).</summary>
    public MembershipService.MembershipServiceClient Client(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return new MembershipService.MembershipServiceClient(channel);
    }

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    /// <summary>Reads what was committed, with a fresh DbContext on the module's database.</summary>
    public async Task<T> QueryAsync<T>(Func<MembershipDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<MembershipDbContext>());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_postgresDatabase is not null && _server is not null)
        {
            await _server.DropDatabaseAsync(_postgresDatabase);
        }

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

/// <summary>One SQLite host shared by the tests of a class (each test uses NIKs of its own).</summary>
public sealed class SqliteHostFixture : IAsyncLifetime
{
    public MembershipHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await MembershipHost.StartSqliteAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// One Membership host per provider for the tests of a class, started on first use: SQLite files, or fresh databases on
/// the shared throwaway PostgreSQL. Each test uses NIKs and keys of its own.
/// </summary>
public sealed class MembershipHosts : IAsyncLifetime
{
    private readonly Dictionary<DatabaseProvider, Task<MembershipHost>> _hosts = [];

    public Task<MembershipHost> OnAsync(DatabaseProvider provider)
    {
        lock (_hosts)
        {
            if (!_hosts.TryGetValue(provider, out var host))
                _hosts[provider] = host = provider == DatabaseProvider.Postgres ? MembershipHost.StartPostgresAsync() : MembershipHost.StartSqliteAsync();
            return host;
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts.Values) await (await host).DisposeAsync();
    }
}
