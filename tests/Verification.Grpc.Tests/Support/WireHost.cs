using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Channels;
using Verification.Platform.Hosting;

namespace Verification.Grpc.Tests.Support;

/// <summary>
/// The real host composition (platform, access, bus, telemetry, the interceptors) in monolithic mode on a free loopback
/// port, with a probe module serving <see cref="WireProbeService"/> and a module client back to itself.
/// </summary>
public sealed class WireHost : IAsyncDisposable
{
    public static readonly VerificationModule ProbeModule = new(
        "probe",
        (builder, _) =>
        {
            builder.Services.AddSingleton<ProbeLog>();
            builder.Services.AddModuleClient<TestService.TestServiceClient>("probe");
        },
        app => app.MapGrpcService<WireProbeService>());

    private readonly WebApplication _app;

    private WireHost(WebApplication app, string dataDirectory, string address)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = address;
    }

    public string DataDirectory { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, or <c>https://localhost:PORT</c> when the host listens with TLS.</summary>
    public string Address { get; }

    public int Port => new Uri(Address).Port;

    public IServiceProvider Services => _app.Services;

    public ProbeLog Log => _app.Services.GetRequiredService<ProbeLog>();

    /// <summary>
    /// Starts the host with <paramref name="settings"/> (<c>Key=Value</c>) on top of the test defaults: a throwaway data
    /// directory and rate limits no test reaches, so a flood of calls is never answered RESOURCE_EXHAUSTED by the limiter.
    /// </summary>
    public static async Task<WireHost> StartAsync(IReadOnlyList<VerificationModule>? modules = null, params string[] settings)
    {
        modules ??= [ProbeModule];
        var data = Directory.CreateTempSubdirectory("verification-grpc-tests-").FullName;
        var app = Build(modules, data, settings);
        try
        {
            app.MapVerificationHost(modules);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            DeleteQuietly(data);
            throw;
        }
        var port = new Uri(app.Urls.First()).Port;
        var tls = settings.Any(s => s.StartsWith("Verification:Listen:CertificatePath=", StringComparison.Ordinal));
        return new WireHost(app, data, tls ? $"https://localhost:{port}" : $"http://127.0.0.1:{port}");
    }

    /// <summary>The composed but unmapped host, for start-up checks; the caller disposes it.</summary>
    public static WebApplication Build(IReadOnlyList<VerificationModule> modules, string dataDirectory, params string[] settings)
    {
        var args = new List<string>
        {
            "--Verification:Listen:Address=127.0.0.1",
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={dataDirectory}",
            "--Verification:Access:RatePerSecond=1000000",
            "--Verification:Access:Burst=1000000",
            // Far from any deadline a test sets, so a module call's sooner deadline can only come from propagation.
            "--Verification:Internal:DefaultDeadline=00:02:00",
            // The flood and the unhandled-exception probe would fill the test output; warnings and errors of the platform stay.
            "--Logging:LogLevel:Grpc=Critical",
            "--Logging:LogLevel:Verification.Platform.Rpc=Critical",
        };
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder([.. args]);
        builder.AddVerificationHost(modules);
        return builder.Build();
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    /// <summary>A partner's channel as <paramref name="member"/> (null: anonymous), without retries so each call is one attempt.</summary>
    public VerificationChannel Channel(string? member, ChannelSettings? settings = null)
    {
        settings ??= new ChannelSettings { RetryUnavailable = false };
        settings.BearerToken = member is null ? null : Token(member);
        return new VerificationChannel(Address, settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        DeleteQuietly(DataDirectory);
    }

    internal static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold a file for a moment after the host stops; the directory is under the temp folder.
        }
    }
}

/// <summary>One probe host shared by a test class: starting the composition costs more than the tests themselves.</summary>
public sealed class WireHostFixture : IAsyncLifetime
{
    public WireHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await WireHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
