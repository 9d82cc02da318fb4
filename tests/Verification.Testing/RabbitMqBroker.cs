namespace Verification.Testing;

/// <summary>
/// A throwaway RabbitMQ for integration tests: Debian's rabbitmq-server with its node, logs, database, cookie and a
/// private epmd all under a temporary directory, on free loopback ports; started once per test run and stopped when
/// the test process exits. <c>VERIFICATION_TEST_RABBITMQ</c> (an amqp:// URI) replaces it.
/// </summary>
public sealed class RabbitMqBroker
{
    public const string OverrideVariable = "VERIFICATION_TEST_RABBITMQ";
    private const string BinDirectory = "/usr/lib/rabbitmq/bin";

    private static readonly Lazy<Task<RabbitMqBroker>> Shared = new(() => StartSharedAsync(CancellationToken.None));

    private readonly ThrowawayDirectory? directory;
    private readonly Dictionary<string, string> environment;
    private readonly SemaphoreSlim control = new(1, 1);

    private RabbitMqBroker(Uri amqpUri, ThrowawayDirectory? directory, Dictionary<string, string> environment)
    {
        AmqpUri = amqpUri;
        this.directory = directory;
        this.environment = environment;
    }

    /// <summary><c>amqp://guest:guest@127.0.0.1:PORT/</c>, or the override.</summary>
    public Uri AmqpUri { get; }

    public int Port => AmqpUri.Port;

    public bool IsExternal => directory is null;

    private string PidFile => environment["RABBITMQ_PID_FILE"];

    private string EpmdPort => environment["ERL_EPMD_PORT"];

    /// <summary>The broker shared by every test of this run.</summary>
    public static Task<RabbitMqBroker> SharedAsync() => Shared.Value;

    /// <summary>Stops the broker (durable queues and persistent messages survive) and its epmd, for fault tests.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            // SIGTERM makes the Erlang VM stop RabbitMQ gracefully, without booting the rabbitmqctl CLI (seconds).
            var pid = int.Parse((await File.ReadAllTextAsync(PidFile, cancellationToken)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            await ExternalProcess.RunAsync("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken: cancellationToken);
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (Directory.Exists($"/proc/{pid}"))
            {
                if (DateTime.UtcNow > until)
                {
                    throw new TimeoutException($"RabbitMQ (pid {pid}) did not stop within 30 s.");
                }

                await Task.Delay(50, cancellationToken);
            }

            await KillEpmdAsync(cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Starts the broker again on the same port, with the same data, after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await StartServerAsync(owned, environment, cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Every queue of a virtual host with its ready and unacknowledged message counts (rabbitmqctl list_queues).</summary>
    public async Task<IReadOnlyList<(string Name, long Ready, long Unacknowledged)>> ListQueuesAsync(string virtualHost = "/", CancellationToken cancellationToken = default)
    {
        RequireOwned();
        var output = await RabbitMqCtlAsync(
            ["list_queues", "-p", virtualHost, "--quiet", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged"], cancellationToken);
        var queues = new List<(string, long, long)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t');
            if (fields.Length == 3
                && long.TryParse(fields[1], System.Globalization.CultureInfo.InvariantCulture, out var ready)
                && long.TryParse(fields[2], System.Globalization.CultureInfo.InvariantCulture, out var unacknowledged))
            {
                queues.Add((fields[0], ready, unacknowledged));
            }
        }

        return queues;
    }

    private Task<string> RabbitMqCtlAsync(string[] arguments, CancellationToken cancellationToken) =>
        ExternalProcess.RunAsync(
            $"{BinDirectory}/rabbitmqctl", ["-n", environment["RABBITMQ_NODENAME"], .. arguments], environment, TimeSpan.FromSeconds(180), cancellationToken);

    private static async Task<RabbitMqBroker> StartSharedAsync(CancellationToken cancellationToken)
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            return new RabbitMqBroker(new Uri(external), null, []);
        }

        ThrowawayDirectory.RequireExecutable($"{BinDirectory}/rabbitmq-server", "rabbitmq-server", OverrideVariable);
        ThrowawayDirectory.RequireExecutable($"{BinDirectory}/rabbitmqctl", "rabbitmq-server", OverrideVariable);
        ThrowawayDirectory.RequireExecutable("/usr/bin/epmd", "erlang-base", OverrideVariable);

        var directory = ThrowawayDirectory.Create("rabbitmq");
        var home = directory.Path;
        var nodePort = ExternalProcess.FreeLoopbackPort();
        var distPort = ExternalProcess.FreeLoopbackPort();
        var epmdPort = ExternalProcess.FreeLoopbackPort();
        var config = Path.Combine(home, "rabbitmq.conf");
        await File.WriteAllTextAsync(config, "loopback_users.guest = true\nlog.console = false\n", cancellationToken);
        var plugins = Path.Combine(home, "enabled_plugins");
        await File.WriteAllTextAsync(plugins, "[].\n", cancellationToken);
        var envFile = Path.Combine(home, "rabbitmq-env.conf");
        await File.WriteAllTextAsync(envFile, "", cancellationToken);

        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home, // the Erlang cookie lives here
            ["RABBITMQ_NODENAME"] = $"verification{nodePort}@localhost",
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = nodePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RABBITMQ_DIST_PORT"] = distPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ERL_EPMD_PORT"] = epmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(home, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(home, "log"),
            ["RABBITMQ_LOGS"] = Path.Combine(home, "log", "rabbit.log"),
            ["RABBITMQ_PID_FILE"] = Path.Combine(home, "rabbit.pid"),
            ["RABBITMQ_CONF_ENV_FILE"] = envFile,
            ["RABBITMQ_CONFIG_FILE"] = config,
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = plugins,
            ["RABBITMQ_ENABLED_PLUGINS"] = "",
        };

        var pidFile = ExternalProcess.Quote(environment["RABBITMQ_PID_FILE"]);
        await directory.StartWatchdogAsync($"""
            if [ -f {pidFile} ]; then
              pid=$(cat {pidFile})
              kill -TERM "$pid" 2>/dev/null
              for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
              kill -KILL "$pid" 2>/dev/null
            fi
            /usr/bin/epmd -port {epmdPort} -kill >/dev/null 2>&1
            """, cancellationToken);

        await StartServerAsync(directory, environment, cancellationToken);
        var uri = new Uri($"amqp://guest:guest@127.0.0.1:{nodePort}/");
        return new RabbitMqBroker(uri, directory, environment);
    }

    private static async Task StartServerAsync(
        ThrowawayDirectory directory, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        await ExternalProcess.StartDetachedAsync(
            $"{BinDirectory}/rabbitmq-server", Path.Combine(directory.Path, "server.out"), environment, cancellationToken);
        // The port opens shortly before the broker accepts connections: await_startup is the real signal,
        // but it fails at once while the node is not yet registered with epmd, hence the retries.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                await ExternalProcess.RunAsync(
                    $"{BinDirectory}/rabbitmqctl",
                    ["-n", environment["RABBITMQ_NODENAME"], "await_startup", "--timeout", "90"],
                    environment,
                    TimeSpan.FromSeconds(100),
                    cancellationToken);
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(250, cancellationToken);
            }
            catch (InvalidOperationException ex)
            {
                var log = Path.Combine(directory.Path, "server.out");
                var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no output)";
                throw new InvalidOperationException($"RabbitMQ did not start: {ex.Message}\n{tail}", ex);
            }
        }
    }

    private Task KillEpmdAsync(CancellationToken cancellationToken) =>
        ExternalProcess.RunAsync("/usr/bin/epmd", ["-port", EpmdPort, "-kill"], environment, TimeSpan.FromSeconds(10), cancellationToken);

    private ThrowawayDirectory RequireOwned() => directory ?? throw new InvalidOperationException(
        $"This RabbitMQ comes from {OverrideVariable} and is not owned by the tests: it cannot be stopped or started.");
}
