using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Verification.Api;
using Verification.Api.Channels;
using Verification.LoadTests.Harness;
using Verification.Platform.Hosting;
using Xunit.Abstractions;

namespace Verification.Deployment.Tests;

/// <summary>
/// docker-compose.yml brought up as an operator would: a .env with the passwords, a members folder and a keys folder
/// (deploy/members/README.md, deploy/secrets/README.md) made for this run, the images deploy/build-images.sh built, a
/// project name of its own (so tests/run.sh can find what is left), and on disposal <c>down -v</c>. Only for the
/// books does the test publish PostgreSQL's port (tests/Verification.Deployment.Tests/compose.books.yml).
/// </summary>
public sealed class ComposeDeployment : IAsyncDisposable
{
    public static readonly Dictionary<string, string> Modules = new(StringComparer.Ordinal)
    {
        ["membership"] = ApiDescriptors.Membership.FullName,
        ["kur"] = ApiDescriptors.Kur.FullName,
        ["prakerja"] = ApiDescriptors.Prakerja.FullName,
        ["nonasn"] = ApiDescriptors.NonAsn.FullName,
        ["audit"] = ApiDescriptors.Audit.FullName,
        ["rentan"] = ApiDescriptors.Rentan.FullName,
    };

    /// <summary>The compose services of a module's two replicas: the module's name, then <c>&lt;module&gt;-2</c>.</summary>
    public static IReadOnlyList<string> ReplicasOf(string module) => [module, module + "-2"];

    /// <summary>Every module container of the deployment (the portal aside).</summary>
    public static IEnumerable<string> ModuleServices => Modules.Keys.SelectMany(ReplicasOf);

    public static string ModuleOf(string service) => service.EndsWith("-2", StringComparison.Ordinal) ? service[..^2] : service;

    private readonly ITestOutputHelper output;
    private readonly string[] compose;
    private readonly Dictionary<(string Module, string Member), GrpcChannel> channels = [];

    private ComposeDeployment(ITestOutputHelper output, string[] compose, string work, string project)
    {
        this.output = output;
        this.compose = compose;
        WorkDirectory = work;
        Project = project;
    }

    public string WorkDirectory { get; }

    public string Project { get; }

    /// <summary>The published port of each module service (each replica its own).</summary>
    public Dictionary<string, int> Ports { get; } = new(StringComparer.Ordinal);

    public int PostgresPort { get; private set; }

    /// <summary>The portal's browser port, published on loopback (PORTAL_PORT).</summary>
    public int PortalPort { get; private set; }

    public string PortalAddress => $"http://127.0.0.1:{PortalPort}";

    public string PostgresPassword { get; private set; } = "";

    public string AuditPublicKeyFile => Path.Combine(WorkDirectory, "audit-signing.pub.pem");

    public string TokenFile(string member) => Path.Combine(WorkDirectory, "dev-credentials", member + ".token");

    /// <summary>One replica's published address: a module's name is its first replica.</summary>
    public string Address(string service) => $"http://127.0.0.1:{Ports[service]}";

    public string Database(string name) =>
        $"Host=127.0.0.1;Port={PostgresPort};Username=verification;Password={PostgresPassword};Database={name};Timeout=10;Command Timeout=60";

    public static async Task<ComposeDeployment> UpAsync(ITestOutputHelper output, CancellationToken cancellationToken)
    {
        var compose = await FindComposeAsync(cancellationToken);
        var run = Environment.GetEnvironmentVariable("VERIFICATION_TEST_RUN") is { Length: > 0 } id ? id : Guid.NewGuid().ToString("N")[..8];
        var project = "verification-e2e-" + new string([.. run.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')]);
        var work = Directory.CreateTempSubdirectory("verification-compose-").FullName;
        var deployment = new ComposeDeployment(output, compose, work, project);
        try
        {
            if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The compose deployment test runs on Linux or macOS.");
            deployment.WriteSecrets();
            var clock = Stopwatch.StartNew();
            await deployment.ComposeAsync(["up", "-d"], TimeSpan.FromMinutes(5), cancellationToken);
            output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {string.Join(' ', compose)} up -d: project {project}");
            // Twelve module containers starting at once on a shared machine: minutes are a hang guard, not a speed check.
            await deployment.WaitUntilServingAsync(ModuleServices, TimeSpan.FromMinutes(10), cancellationToken);
            await deployment.WaitUntilPortalAnswersAsync(TimeSpan.FromMinutes(2), cancellationToken);
            output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  every module SERVING ({string.Join(", ", deployment.Ports.Select(p => $"{p.Key} :{p.Value}"))})");
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>The compose file reads with v1 and v2: VERIFICATION_COMPOSE, else Debian's docker-compose, else docker compose.</summary>
    private static async Task<string[]> FindComposeAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable("VERIFICATION_COMPOSE") is { Length: > 0 } configured) return configured.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var docker = await RunAsync("docker", ["version", "--format", "{{.Server.Version}}"], null, TimeSpan.FromSeconds(30), cancellationToken);
        if (docker.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"The compose deployment needs Docker, and no Docker daemon answered at {Environment.GetEnvironmentVariable("DOCKER_HOST") ?? "the default socket"}: {docker.Output.Trim()}. " +
                "Start one: tests/run.sh does it as root on Debian, or `eval \"$(sudo tests/docker.sh start)\"`, or start Docker Desktop; then deploy/build-images.sh.");
        }

        foreach (var candidate in new[] { new[] { "docker-compose" }, ["docker", "compose"] })
        {
            var probe = await RunAsync(candidate[0], [.. candidate[1..], "version"], null, TimeSpan.FromSeconds(30), cancellationToken);
            if (probe.ExitCode == 0) return candidate;
        }

        throw new InvalidOperationException("Neither docker-compose (apt-get install docker-compose) nor the docker compose plugin is installed.");
    }

    /// <summary>Members with fresh tokens, the internal token, the module keys and the .env, as the READMEs describe.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private void WriteSecrets()
    {
        // The work directory is private; what the containers (uid 1654) read inside it is world-readable.
        File.SetUnixFileMode(WorkDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var members = Directory.CreateDirectory(Path.Combine(WorkDirectory, "members")).FullName;
        var secrets = Directory.CreateDirectory(Path.Combine(WorkDirectory, "secrets")).FullName;
        var (membersFile, credentials, _) = DevelopmentMembers.EnsureCreated(WorkDirectory);
        File.Copy(membersFile, Path.Combine(members, "members.json"));
        File.Copy(Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token"), Path.Combine(members, "internal.token"));
        File.WriteAllText(Path.Combine(secrets, "kur-borrower-hmac.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        File.WriteAllText(Path.Combine(secrets, "nonasn-staff-nik.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        File.WriteAllText(Path.Combine(secrets, "rentan-worker-nik.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        File.WriteAllText(Path.Combine(secrets, "audit-nik-hmac.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        using (var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(Path.Combine(secrets, "audit-signing.key"), signing.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(AuditPublicKeyFile, signing.ExportSubjectPublicKeyInfoPem() + "\n");
        }

        using (var sealing = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(Path.Combine(secrets, "audit-nik-sealing.key"), sealing.ExportPkcs8PrivateKeyPem() + "\n");
            File.WriteAllText(Path.Combine(secrets, "audit-nik-sealing.pub.pem"), sealing.ExportSubjectPublicKeyInfoPem() + "\n");
        }

        foreach (var file in Directory.GetFiles(members).Concat(Directory.GetFiles(secrets))) File.SetUnixFileMode(file, readable);

        PostgresPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        PostgresPort = FreePort();
        var ports = new StringBuilder();
        PortalPort = FreePort();
        ports.Append(CultureInfo.InvariantCulture, $"PORTAL_PORT={PortalPort}\n");
        foreach (var service in ModuleServices)
        {
            Ports[service] = FreePort();
            ports.Append(CultureInfo.InvariantCulture, $"{service.ToUpperInvariant().Replace('-', '_')}_PORT={Ports[service]}\n");
        }

        File.WriteAllText(Path.Combine(WorkDirectory, ".env"), $"""
            POSTGRES_PASSWORD={PostgresPassword}
            RABBITMQ_USER=verification
            RABBITMQ_PASSWORD={Convert.ToHexString(RandomNumberGenerator.GetBytes(16))}
            VERIFICATION_MEMBERS_DIR={members}
            VERIFICATION_SECRETS_DIR={secrets}
            VERIFICATION_HOST_IMAGE={Setting("VERIFICATION_HOST_IMAGE", "verification-host:dev")}
            POSTGRES_IMAGE={Setting("VERIFICATION_TEST_POSTGRES_IMAGE", "verification-postgres:15")}
            RABBITMQ_IMAGE={Setting("VERIFICATION_TEST_RABBITMQ_IMAGE", "verification-rabbitmq:3.10")}
            POSTGRES_SHARED_BUFFERS=256MB
            RABBITMQ_MANAGEMENT_PORT={FreePort()}
            E2E_POSTGRES_PORT={PostgresPort}
            {ports}
            """);
    }

    /// <summary>Health of each module container through its published port, by its module's service name: SERVING once its database and bus answer.</summary>
    public async Task<TimeSpan> WaitUntilServingAsync(IEnumerable<string> services, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        foreach (var service in services)
        {
            using var channel = new VerificationChannel(Address(service), new ChannelSettings { RetryUnavailable = false });
            var health = new Health.HealthClient(channel);
            while (true)
            {
                try
                {
                    var answer = await health.CheckAsync(new HealthCheckRequest { Service = Modules[ModuleOf(service)] }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(3), cancellationToken));
                    if (answer.Status == HealthCheckResponse.Types.ServingStatus.Serving) break;
                }
                catch (RpcException) when (clock.Elapsed < timeout)
                {
                }

                if (clock.Elapsed > timeout)
                {
                    throw new TimeoutException($"{service} did not answer SERVING within {timeout.TotalSeconds:0} s; its log:\n{await LogsAsync(service, cancellationToken)}");
                }

                await Task.Delay(500, cancellationToken);
            }
        }

        return clock.Elapsed;
    }

    /// <summary>The portal's sign-in page through its published port: 200 once the process serves pages.</summary>
    public async Task WaitUntilPortalAnswersAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(PortalAddress), Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/masuk", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            if (clock.Elapsed > timeout)
                throw new TimeoutException($"the portal did not answer /masuk within {timeout.TotalSeconds:0} s; its log:\n{await LogsAsync("portal", cancellationToken)}");
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>
    /// A channel to both replicas' published ports as a member, round robin, as a partner given both addresses calls;
    /// without retries of its own (callers retry as banks do).
    /// </summary>
    public ChannelBase Channel(string module, string member)
    {
        lock (channels)
        {
            if (!channels.TryGetValue((module, member), out var channel))
            {
                channel = ReplicaChannel.Create(module, [.. ReplicasOf(module).Select(s => ("127.0.0.1", Ports[s]))], File.ReadAllText(TokenFile(member)).Trim());
                channels[(module, member)] = channel;
            }

            return channel;
        }
    }

    /// <summary>SIGKILL to one module container (<c>kill -s SIGKILL</c>: no graceful shutdown; Docker does not restart a killed container).</summary>
    public Task KillAsync(string service, CancellationToken cancellationToken) =>
        ComposeAsync(["kill", "-s", "SIGKILL", service], TimeSpan.FromMinutes(1), cancellationToken);

    /// <summary>Starts stopped module containers again; returns when each serves.</summary>
    public async Task<TimeSpan> StartAsync(IReadOnlyList<string> services, CancellationToken cancellationToken)
    {
        await ComposeAsync(["start", .. services], TimeSpan.FromMinutes(2), cancellationToken);
        // A hang guard, not a speed check: a start on the shared machine has taken over a minute.
        return await WaitUntilServingAsync(services, TimeSpan.FromMinutes(5), cancellationToken);
    }

    /// <summary>The host name of a service's container (Docker gives it the first 12 digits of the container's id).</summary>
    public async Task<string> HostNameAsync(string service, CancellationToken cancellationToken)
    {
        var text = await ComposeOutputAsync(["ps", "-q", service], TimeSpan.FromMinutes(1), cancellationToken);
        // Standard error (compose's warnings, if any) follows the id in the output.
        var id = text.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Length == 64 && l.All(char.IsAsciiHexDigitLower))
            ?? throw new InvalidOperationException($"{service} has no container: '{text.Trim()}'");
        return id[..12];
    }

    /// <summary>Every queue of the broker with its message count, read inside its container (<c>rabbitmqctl list_queues</c>).</summary>
    public async Task<IReadOnlyDictionary<string, long>> QueuesAsync(CancellationToken cancellationToken)
    {
        var text = await ComposeOutputAsync(["exec", "-T", "rabbitmq", "rabbitmqctl", "list_queues", "--quiet", "--no-table-headers", "name", "messages"],
            TimeSpan.FromMinutes(2), cancellationToken);
        var queues = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t');
            if (fields.Length == 2 && long.TryParse(fields[1], CultureInfo.InvariantCulture, out var messages)) queues[fields[0]] = messages;
        }

        return queues;
    }

    /// <summary>
    /// Calls a module container served on a gRPC path (<c>/verification.kur.v1.KurService/EnrolBorrower</c>, or a service's
    /// prefix), from its log's "Request starting" lines (tests/Verification.Deployment.Tests/compose.books.yml turns them on).
    /// </summary>
    public async Task<int> CallsServedAsync(string service, string path, CancellationToken cancellationToken)
    {
        var result = await RunAsync(compose[0], [.. compose[1..], .. ProjectArguments(), "logs", "--no-color", service], WorkDirectory, TimeSpan.FromMinutes(1), cancellationToken);
        return result.Output.Split('\n').Count(l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains(path, StringComparison.Ordinal));
    }

    public async Task<string> LogsAsync(string service, CancellationToken cancellationToken)
    {
        var result = await RunAsync(compose[0], [.. compose[1..], .. ProjectArguments(), "logs", "--no-color", "--tail", "40", service], WorkDirectory, TimeSpan.FromSeconds(60), cancellationToken);
        return result.Output;
    }

    /// <summary>Runs the command-line client (services/Verification.Cli's build) as a partner would, against a module.</summary>
    public async Task<(int ExitCode, string Output)> CliAsync(string module, string member, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var cli = Path.Combine(Repository.Root, "services", "Verification.Cli", "bin",
            new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name, "net10.0", "verification.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException($"Build services/Verification.Cli first: {cli} is missing.", cli);
        return await RunAsync(Environment.ProcessPath ?? "dotnet",
            [cli, .. arguments, "--address", Address(module), "--token-file", TokenFile(member)], WorkDirectory, TimeSpan.FromMinutes(3), cancellationToken);
    }

    private string[] ProjectArguments() =>
        ["-f", Path.Combine(Repository.Root, "docker-compose.yml"), "-f", Path.Combine(Repository.Root, "tests", "Verification.Deployment.Tests", "compose.books.yml"),
         "--env-file", Path.Combine(WorkDirectory, ".env"), "-p", Project];

    private async Task ComposeAsync(string[] arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        await ComposeOutputAsync(arguments, timeout, cancellationToken);

    private async Task<string> ComposeOutputAsync(string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunAsync(compose[0], [.. compose[1..], .. ProjectArguments(), .. arguments], WorkDirectory, timeout, cancellationToken);
        if (result.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', compose)} {string.Join(' ', arguments)} exited with {result.ExitCode}:\n{result.Output}");
        return result.Output;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, string? directory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory ?? "" };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (127, $"{file}: {ex.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {string.Join(' ', start.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s.");
            }

            return (process.ExitCode, await stdout + await stderr);
        }
    }

    private static string Setting(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        lock (channels)
        {
            foreach (var channel in channels.Values) channel.Dispose();
            channels.Clear();
        }

        try
        {
            await ComposeAsync(["down", "-v", "--remove-orphans", "-t", "5"], TimeSpan.FromMinutes(3), CancellationToken.None);
            output.WriteLine($"{string.Join(' ', compose)} down -v: project {Project} removed");
        }
        catch (Exception ex)
        {
            output.WriteLine($"(down failed: {ex.Message}; tests/run.sh removes what is left)");
        }

        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
