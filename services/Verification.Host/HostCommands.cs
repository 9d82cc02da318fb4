using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Membership.Features.Seed;
using Verification.Platform.Data;
using Verification.Platform.Hosting;

namespace Verification.Host;

/// <summary>
/// <c>verification-host</c> serves; <c>migrate</c> applies every chosen module's migrations and exits without opening a
/// port; <c>seed</c> fills the registry; <c>health</c> asks a running server. Only serve, migrate and seed compose the
/// host, so <c>--help</c>, <c>health</c> and a start refused for a bad setting write nothing.
/// </summary>
public static class HostCommands
{
    public const string Usage = """
        verification-host [serve] [--Section:Key=value ...]   run the suite (the default command)
        verification-host migrate [settings]                  apply every chosen module's migrations and exit; opens no port
        verification-host seed [options] [settings]           fill the registry with synthetic participants (seed --help)
        verification-host health [--address URL] [--service NAME]
                                                              exit 0 when the server answers SERVING; writes nothing

        Settings: every key of appsettings.json, as --Verification:Listen:Port=50052 or Verification__Listen__Port=50052.
        Data directory (SQLite files, development members and keys): ./data under the directory the command runs in,
        or Verification:Database:DataDirectory. Exit codes: 0 done, 1 failed (e.g. the port is in use), 2 usage or
        configuration error.
        """;

    public static async Task<int> MainAsync(string[] args)
    {
        var command = args.FirstOrDefault(a => !a.StartsWith('-') && !a.Contains('=', StringComparison.Ordinal));
        if (command == "health") return await CheckHealthAsync(args);
        if (command is not (null or "serve" or "migrate" or "seed" or "help"))
        {
            Console.Error.WriteLine($"unknown command '{command}'; commands: serve (default), migrate, seed, health (--help for more)");
            return 2;
        }

        if (command == "help" || args.Contains("--help") || args.Contains("-h") || args.Contains("-?"))
        {
            Console.WriteLine(command == "seed" ? MembershipSeeder.Usage : Usage);
            return 0;
        }

        try
        {
            // Settings come from appsettings.json beside the binary, wherever the command is run; data goes where it is run.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
            // Commands that never start the bus: its "failed to stop (not started)" on the way out is noise.
            if (command is "migrate" or "seed") builder.Logging.AddFilter("MassTransit", LogLevel.Error);
            var host = builder.AddVerificationHost(ModuleCatalog.All);
            await using var app = builder.Build();
            app.MapVerificationHost(ModuleCatalog.All);
            PrintDataDirectory(host);
            return command switch
            {
                "migrate" => await MigrateAsync(app, host),
                "seed" => await MembershipSeeder.RunAsync(app.Services, args, CancellationToken.None),
                _ => await ServeAsync(app),
            };
        }
        catch (ConfigurationError error)
        {
            Console.Error.WriteLine($"configuration error: {error.Message}");
            return 2;
        }
    }

    private static async Task<int> ServeAsync(WebApplication app)
    {
        var listen = app.Services.GetRequiredService<VerificationOptions>().Listen;
        // Found before anything starts, so the answer is one line rather than the host's failed start in the log.
        foreach (var port in new[] { listen.Port, listen.RestPort ?? 0 }.Where(p => p > 0))
        {
            if (!PortFree(listen.Address, port)) return PortInUse(listen.Address, port);
        }

        try
        {
            await app.StartAsync();
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            return PortInUse(listen.Address, listen.Port);
        }

        PrintBanner(app);
        await app.WaitForShutdownAsync();
        return 0;
    }

    private static bool PortFree(string address, int port)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), port));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static int PortInUse(string address, int port)
    {
        Console.Error.WriteLine($"error: {address}:{port} is already in use (is the suite already running?); stop it, or choose another port with --Verification:Listen:Port=N");
        return 1;
    }

    /// <summary>Runs each chosen module's schema initializer, as a start does before anything else, without starting anything.</summary>
    private static async Task<int> MigrateAsync(WebApplication app, VerificationHostContext host)
    {
        var initializers = app.Services.GetServices<IHostedService>()
            .Where(s => s.GetType().IsGenericType && s.GetType().GetGenericTypeDefinition() == typeof(ModuleSchemaInitializer<>))
            .Cast<IHostedLifecycleService>()
            .ToList();
        foreach (var initializer in initializers) await initializer.StartingAsync(CancellationToken.None);
        Console.WriteLine("migrations applied for: " + string.Join(", ", host.Modules.Append(VerificationHost.AccessModule)));
        return 0;
    }

    /// <summary><c>health [--address URL] [--service NAME]</c>: exits 0 when the server answers SERVING (container and Kubernetes probes).</summary>
    public static async Task<int> CheckHealthAsync(string[] args)
    {
        string Option(string name, string fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
        }
        var address = Option("--address", $"http://127.0.0.1:{VerificationOptions.DefaultPort}");
        var service = Option("--service", "");
        using var channel = new VerificationChannel(address, new ChannelSettings { RetryUnavailable = false });
        try
        {
            var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(3)));
            Console.WriteLine(response.Status);
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            Console.Error.WriteLine($"{ex.StatusCode}: {ex.Status.Detail}");
            return 1;
        }
    }

    private static void PrintDataDirectory(VerificationHostContext host)
    {
        if (host.Database.Provider == DatabaseProvider.Sqlite || host.Options.Mode == HostingMode.Monolithic)
            Console.WriteLine($"Data directory: {host.DataDirectory}{(host.FirstStart.Created.Count > 0 ? " (created now)" : "")}");
        if (host.Database.Provider == DatabaseProvider.Postgres)
            Console.WriteLine("Databases: PostgreSQL (Verification:Database:ConnectionStrings)");
    }

    private static void PrintBanner(WebApplication app)
    {
        var host = app.Services.GetRequiredService<VerificationHostContext>();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "?";
        Console.WriteLine($"Verification suite ({host.Options.Mode}) serving {string.Join(", ", host.Modules)} on {address} (gRPC, HTTP/2)");
        if (PartnerRest.RestAddress(app.Services) is { } rest)
            Console.WriteLine($"REST/JSON for partners on {rest} (OpenAPI document: {new Uri(rest, PartnerRest.DocumentPath)}, with a member token)");
        if (app.Services.GetService<DevelopmentCredentials>() is not { } credentials) return;
        Console.WriteLine($"Development member credentials{(credentials.CreatedNow ? " (created now)" : "")}: {Shown(credentials.Directory)}/<member>.token");
        foreach (var line in FirstCalls(host, credentials, new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port)) Console.WriteLine(line);
    }

    /// <summary>Ready-to-paste commands of the command-line client, from where the host was started, with NIKs that exist.</summary>
    public static IEnumerable<string> FirstCalls(VerificationHostContext host, DevelopmentCredentials credentials, int port)
    {
        var fromClone = File.Exists(Path.Combine(Environment.CurrentDirectory, "services", "Verification.Cli", "Verification.Cli.csproj"));
        yield return "Try it with the command-line client, from this directory" + (fromClone ? ":" : " (install it from a clone: see the README):");
        if (fromClone)
        {
            yield return "  dotnet publish services/Verification.Cli -c Release -o .tools/verification && export PATH=\"$PWD/.tools/verification:$PATH\"";
            yield return "  # or as a .NET tool: dotnet pack services/Verification.Cli -o .tools/nupkg && dotnet tool install --tool-path .tools --add-source .tools/nupkg Verification.Cli";
        }

        if (port != VerificationOptions.DefaultPort) yield return $"  export VERIFICATION_ADDRESS=http://127.0.0.1:{port}";
        yield return $"  export VERIFICATION_TOKEN_FILE={Shown(Path.Combine(credentials.Directory, "bank-bri.token"))}";
        var sample = Path.Combine(host.DataDirectory, SeedSample.FileName);
        var covered = File.Exists(sample) ? SampleNik(sample, "COVERED") : null;
        if (covered is null)
        {
            yield return "  verification health";
            yield return "  # The registry has no sample yet: seed it (stop the host first, or use another terminal) with";
            yield return $"  #   {(fromClone ? "dotnet run --project services/Verification.Host --" : "verification-host")} seed";
            yield return $"  # which writes NIKs to try into {Shown(sample)}.";
            yield break;
        }

        yield return $"  verification verify {covered}                 # COVERED; more NIKs to try in {Shown(sample)}";
        yield return $"  verification verify {SeedSample.NeverRegistered[0].Nik}                 # NOT COVERED (exit 1)";
    }

    /// <summary>The first NIK of the sample whose expected verification answer is <paramref name="expected"/>.</summary>
    private static string? SampleNik(string path, string expected)
    {
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length > 2 && fields[2] == expected) return fields[1];
        }

        return null;
    }

    /// <summary>A path as the operator can paste it: relative when it is under the current directory.</summary>
    private static string Shown(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }
}
