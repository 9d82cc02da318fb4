using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;
using Verification.Api;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Testing;
using Verification.Api.Channels;

namespace Verification.LoadTests.Harness;

/// <summary>
/// The suite in microservices mode on this machine: PostgreSQL (one database per module plus its access database),
/// RabbitMQ (a virtual host of this run's own), members and keys in a work directory, and one verification-host
/// process per module, each on its own loopback port with the others' endpoints.
/// </summary>
public sealed class Suite : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Module, string Member), ChannelBase> channels = new();
    private readonly Dictionary<string, ModuleProcess> hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ModuleProcess>> replicas = new(StringComparer.Ordinal);
#pragma warning disable CA2213 // The caller's writer (the console): not the suite's to close.
    private readonly TextWriter output;
#pragma warning restore CA2213
    private bool keepWork;

    private Suite(TextWriter output, string work, string runId)
    {
        this.output = output;
        WorkDirectory = work;
        RunId = runId;
    }

    public string RunId { get; }

    public string WorkDirectory { get; }

    /// <summary>The PostgreSQL this run started (null when attached): fault scenarios restart it.</summary>
    public PostgresServer? Postgres { get; private set; }

    /// <summary>The RabbitMQ this run started or shares with its process (null when attached).</summary>
    public RabbitMqBroker? Broker { get; private set; }

    public string AdminConnectionString { get; private set; } = "";

    public Uri RabbitMqUri { get; private set; } = null!;

    public string VirtualHost { get; private set; } = "/";

    public string Durability { get; private set; } = "";

    /// <summary>Connection strings by database key: the module name, or <c>access_&lt;module&gt;</c>.</summary>
    public Dictionary<string, string> Databases { get; } = new(StringComparer.Ordinal);

    /// <summary>The first replica of each module: the one partners' channels and the books call.</summary>
    public IReadOnlyDictionary<string, ModuleProcess> Hosts => hosts;

    /// <summary>Every replica of a module, the first (<see cref="Hosts"/>) first.</summary>
    public IReadOnlyList<ModuleProcess> ReplicasOf(string module) => replicas[module];

    /// <summary>Every process of the suite, all replicas of every module.</summary>
    public IEnumerable<ModuleProcess> AllHosts => replicas.Values.SelectMany(r => r);

    public IReadOnlyList<string> Modules => [.. hosts.Keys];

    public string AuditPublicKeyPem { get; private set; } = "";

    /// <summary>The partner portal's module name: a process of its own when a run lists it.</summary>
    public const string Portal = "portal";

    /// <summary>The portal's browser port (HTTP/1.1), when the run started it.</summary>
    public int? PortalPort { get; private set; }

    public static async Task<Suite> StartAsync(LoadOptions options, IReadOnlyList<string> modules, TextWriter output, CancellationToken cancellationToken)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        var work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"verification-load-{runId}");
        Directory.CreateDirectory(work);
        var suite = new Suite(output, work, runId);
        try
        {
            await suite.StartInfrastructureAsync(options, modules, cancellationToken);
            await suite.StartHostsAsync(options, modules, cancellationToken);
            return suite;
        }
        catch
        {
            suite.keepWork = true;
            await suite.DisposeAsync();
            throw;
        }
    }

    private async Task StartInfrastructureAsync(LoadOptions options, IReadOnlyList<string> modules, CancellationToken cancellationToken)
    {
        if (options.Postgres is { } attached)
        {
            AdminConnectionString = attached;
            Durability = "attached (as configured)";
        }
        else
        {
            Postgres = options.Durable
                ? await PostgresServer.StartDedicatedAsync(durable: true, cancellationToken)
                : await PostgresServer.SharedAsync();
            if (Postgres.IsExternal) Postgres = null;
            AdminConnectionString = Postgres?.AdminConnectionString ?? (await PostgresServer.SharedAsync()).AdminConnectionString;
            Durability = Postgres is null ? "external (VERIFICATION_TEST_POSTGRES)" : Postgres.IsDurable ? "throwaway, fsync on" : "throwaway, fsync off";
        }

        foreach (var module in modules)
        {
            if (module != Portal) Databases[module] = await CreateDatabaseAsync(module, 50, cancellationToken);
            Databases["access_" + module] = await CreateDatabaseAsync("access_" + module, 10, cancellationToken);
        }

        if (options.RabbitMq is { } rabbit)
        {
            RabbitMqUri = new Uri(rabbit);
            VirtualHost = RabbitMqUri.AbsolutePath.Trim('/') is { Length: > 0 } path ? Uri.UnescapeDataString(path) : "/";
        }
        else
        {
            Broker = await RabbitMqBroker.SharedAsync();
            if (Broker.IsExternal)
            {
                RabbitMqUri = Broker.AmqpUri;
                Broker = null;
            }
            else
            {
                RabbitMqUri = Broker.AmqpUri;
            }
        }

        // Runs share the broker (one per test process): what an earlier run left in the consumers' queues must not reach this one's audit log.
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        foreach (var queue in Books.BooksCheck.ConsumerQueues)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellationToken);
        }
    }

    private async Task<string> CreateDatabaseAsync(string key, int poolSize, CancellationToken cancellationToken)
    {
        var name = $"load_{RunId}_{key}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, MaxPoolSize = poolSize }.ConnectionString;
    }

    private async Task StartHostsAsync(LoadOptions options, IReadOnlyList<string> modules, CancellationToken cancellationToken)
    {
        var binary = options.HostBinary ?? FindHostBinary();
        var (membersFile, credentials, _) = DevelopmentMembers.EnsureCreated(WorkDirectory);
        var keys = Directory.CreateDirectory(Path.Combine(WorkDirectory, "keys")).FullName;
        var kurKey = WriteSecret(Path.Combine(keys, "kur-borrower-hmac.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var nonAsnKey = WriteSecret(Path.Combine(keys, "nonasn-staff-nik.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var rentanKey = WriteSecret(Path.Combine(keys, "rentan-worker-nik.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var nikKey = WriteSecret(Path.Combine(keys, "audit-nik-hmac.key"), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        using (var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            WriteSecret(Path.Combine(keys, "audit-signing.pem"), signing.ExportPkcs8PrivateKeyPem());
            AuditPublicKeyPem = signing.ExportSubjectPublicKeyInfoPem();
        }

        // The pair NIKs in events are sealed with: every module gets the public key, only the audit module the private one.
        var sealingPrivateKey = Path.Combine(keys, "audit-nik-sealing.pem");
        var sealingPublicKey = Path.Combine(keys, "audit-nik-sealing.pub.pem");
        using (var sealing = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256))
        {
            WriteSecret(sealingPrivateKey, sealing.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(sealingPublicKey, sealing.ExportSubjectPublicKeyInfoPem());
        }

        var count = Math.Max(1, options.Replicas);
        var ports = modules.ToDictionary(m => m, _ => Enumerable.Range(0, count).Select(_ => FreePort()).ToList());
        foreach (var (module, replica) in modules.SelectMany(m => Enumerable.Range(0, count).Select(r => (m, r))))
        {
            // The first replica keeps the names of a single-replica run (data directory, log file); the others are <module>-2, …
            var name = replica == 0 ? module : $"{module}-{replica + 1}";
            var data = Directory.CreateDirectory(Path.Combine(WorkDirectory, name)).FullName;
            List<string> arguments =
            [
                "--Verification:Mode=Microservices",
                $"--Verification:Services={module}",
                "--Verification:Listen:Address=127.0.0.1",
                $"--Verification:Listen:Port={ports[module][replica]}",
                "--Verification:Database:Provider=Postgres",
                $"--Verification:Database:DataDirectory={data}",
                $"--Verification:Database:ConnectionStrings:access={Databases["access_" + module]}",
                "--Verification:Bus:Transport=RabbitMq",
                $"--Verification:Bus:RabbitMqUri={RabbitMqUri}",
                $"--Verification:Access:MembersFile={membersFile}",
                // Several Membership calls per enrolment, all as the internal member: the default 2,000/s would be the limit measured.
                "--Verification:Access:RatePerSecond=1000000",
                "--Verification:Access:Burst=1000000",
                $"--Verification:Internal:TokenFile={Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")}",
                $"--Logging:LogLevel:Default={options.LogLevel}",
                "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
            ];
            // One line per call served ("Request starting … /<service>/<method>"): ModuleProcess.CallsServed counts them.
            if (options.CountCalls) arguments.Add("--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information");
            // The portal keeps nothing but sessions: no database of its own, a browser port instead.
            arguments.Add(module == Portal
                ? $"--Verification:Portal:Port={(replica == 0 ? PortalPort = FreePort() : FreePort())}"
                : $"--Verification:Database:ConnectionStrings:{module}={Databases[module]}");
            // Every replica of the others, as a list: the module clients spread calls over them (round robin).
            arguments.AddRange(modules.Where(m => m != module && m != Portal).Select(m => $"--Verification:Endpoints:{m}={string.Join(',', ports[m].Select(p => $"http://127.0.0.1:{p}"))}"));
            arguments.Add($"--Verification:Privacy:NikSealingKeyPath={sealingPublicKey}");
            switch (module)
            {
                case "kur":
                    arguments.Add($"--Verification:Kur:BorrowerHmacKeyPath={kurKey}");
                    break;
                case "nonasn":
                    arguments.Add($"--Verification:NonAsn:NikKeyPath={nonAsnKey}");
                    break;
                case "rentan":
                    arguments.Add($"--Verification:Rentan:NikKeyPath={rentanKey}");
                    break;
                case "audit":
                    arguments.Add($"--Verification:Audit:SigningKeyPath={Path.Combine(keys, "audit-signing.pem")}");
                    arguments.Add($"--Verification:Audit:NikHmacKeyPath={nikKey}");
                    arguments.Add($"--Verification:Audit:NikSealingKeyPaths:0={sealingPrivateKey}");
                    arguments.Add($"--Verification:Audit:TreeHeadInterval={options.TreeHeadInterval:c}");
                    break;
            }

            arguments.AddRange(ModuleSettings.Extra(module, keys));
            var environment = options.OtlpEndpoint is null
                ? null
                : new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = options.OtlpEndpoint, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf", ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000", ["OTEL_BSP_SCHEDULE_DELAY"] = "500" };
            var process = new ModuleProcess(module, binary, arguments, ports[module][replica], ServiceName(module), Path.Combine(WorkDirectory, name + ".log"), environment);
            if (replica == 0) hosts[module] = process;
            (replicas.TryGetValue(module, out var list) ? list : replicas[module] = []).Add(process);
        }

        output.WriteLine($"   host binary: {binary}{(count > 1 ? $"; {count} replicas of every module" : "")}");
        foreach (var host in AllHosts) host.Start();
        var ready = await Task.WhenAll(AllHosts.Select(async h => (Host: h, Time: await h.WaitUntilServingAsync(options.StartTimeout, cancellationToken))));
        output.WriteLine("   serving: " + string.Join(", ", ready.Select(r => $"{r.Host.Module} :{r.Host.Port} (pid {r.Host.Pid}, {r.Time.TotalSeconds:0.0} s)")));
    }

    /// <summary>SIGKILLs a module's process, waits <paramref name="down"/>, starts it again and waits until it serves.</summary>
    public Task<TimeSpan> KillAndRestartAsync(string module, TimeSpan down, CancellationToken cancellationToken) =>
        KillAndRestartAsync(hosts[module], down, cancellationToken);

    /// <summary>SIGKILLs one replica's process, waits <paramref name="down"/>, starts it again and waits until it serves.</summary>
    public async Task<TimeSpan> KillAndRestartAsync(ModuleProcess host, TimeSpan down, CancellationToken cancellationToken)
    {
        host.Kill();
        if (down > TimeSpan.Zero) await Task.Delay(down, cancellationToken);
        host.Start();
        // A hang guard, not a speed check: at load 40-60 three restarts at once took up to 89 s each.
        return await host.WaitUntilServingAsync(TimeSpan.FromMinutes(5), cancellationToken);
    }

    /// <summary>
    /// A channel to a module, authenticated as a member (development token), without the channel's own retries: to its
    /// one process, or round robin over every replica when it runs several (as a partner behind a load balancer calls).
    /// </summary>
    public ChannelBase Channel(string module, string member) =>
        channels.GetOrAdd((module, member), key => replicas[key.Module].Count > 1
            ? (ChannelBase)ReplicaChannel.Create(key.Module, [.. replicas[key.Module].Select(r => ("127.0.0.1", r.Port))], Token(key.Member))
            : new VerificationChannel(hosts[key.Module].Address, new ChannelSettings
            {
                BearerToken = Token(key.Member),
                RetryUnavailable = false,
            }));

    public string Token(string member) => File.ReadAllText(Path.Combine(WorkDirectory, "dev-credentials", member + ".token")).Trim();

    /// <summary>Keeps the work directory (logs, members, keys) after the run, e.g. when the books do not balance.</summary>
    public void KeepWorkDirectory() => keepWork = true;

    public static string ServiceName(string module) => module switch
    {
        "membership" => ApiDescriptors.Membership.FullName,
        "kur" => ApiDescriptors.Kur.FullName,
        "audit" => ApiDescriptors.Audit.FullName,
        "prakerja" => ApiDescriptors.Prakerja.FullName,
        "nonasn" => ApiDescriptors.NonAsn.FullName,
        "rentan" => ApiDescriptors.Rentan.FullName,
        // The portal serves no gRPC service of its own: the server's overall health.
        Portal => "",
        _ => throw new ArgumentException($"unknown module {module}", nameof(module)),
    };

    /// <summary>
    /// <c>VERIFICATION_HOST_BINARY</c>, else services/Verification.Host/bin/Release/net10.0/verification-host (what CI builds and
    /// what figures are published from), else the Debug build.
    /// </summary>
    public static string FindHostBinary()
    {
        if (Environment.GetEnvironmentVariable("VERIFICATION_HOST_BINARY") is { Length: > 0 } configured) return configured;
        var root = RepositoryRoot();
        var candidates = new[] { "Release", "Debug" }
            .Select(c => Path.Combine(root, "services", "Verification.Host", "bin", c, "net10.0", "verification-host.dll"))
            .Where(File.Exists)
            .ToList();
        if (candidates.Count == 0)
            throw new FileNotFoundException("verification-host is not built: run `dotnet build -c Release services/Verification.Host` (or pass --host PATH).");
        var apphost = Path.ChangeExtension(candidates[0], null);
        return File.Exists(apphost) ? apphost : candidates[0];
    }

    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
                if (File.Exists(Path.Combine(directory.FullName, "Verification.sln"))) return directory.FullName;
        }

        throw new DirectoryNotFoundException("Verification.sln not found above the harness or the current directory.");
    }

    private static string WriteSecret(string path, string content)
    {
        File.WriteAllText(path, content + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static int FreePort() => Verification.Testing.ExternalProcess.FreeLoopbackPort();

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in channels.Values) (channel as IDisposable)?.Dispose();
        await Task.WhenAll(AllHosts.Select(h => h.DisposeAsync().AsTask()));
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString);
            await connection.OpenAsync();
            foreach (var database in Databases.Values)
            {
                var name = new NpgsqlConnectionStringBuilder(database).Database;
                await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
                await command.ExecuteNonQueryAsync();
            }
        }
        catch (Exception ex)
        {
            output.WriteLine($"   (databases not dropped: {ex.Message})");
        }

        if (keepWork)
        {
            // What went wrong inside the hosts, in the run's own output (CI keeps no work directory).
            foreach (var host in hosts.Values)
            {
                var digest = host.WarningDigest(8);
                output.WriteLine($"   {host.Module}: {(digest.Count == 0 ? "no warnings" : "warnings and failures in its log:")}");
                foreach (var line in digest) output.WriteLine("     " + line);
            }

            output.WriteLine($"   work directory kept: {WorkDirectory}");
        }
        else
        {
            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>Settings a module needs in microservices mode beyond the common ones (modules added later put theirs here).</summary>
internal static class ModuleSettings
{
    public static IEnumerable<string> Extra(string module, string keyDirectory) => module switch
    {
        _ => [],
    };
}
