using RabbitMQ.Client;
using Testcontainers.RabbitMq;

namespace Verification.Testing;

/// <summary>
/// A throwaway RabbitMQ for integration tests: a container (Testcontainers) started once per test process and shared
/// by its collections, published on a loopback port of its own that survives a stop and start, removed when the test
/// process exits. <c>VERIFICATION_TEST_RABBITMQ</c> (an amqp:// URI) replaces it; <c>VERIFICATION_TEST_RABBITMQ_IMAGE</c>
/// names another image (default <c>verification-rabbitmq:3.10</c> from deploy/build-images.sh; the official
/// <c>rabbitmq:3.13</c> works the same).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "One instance per test process, alive until it exits: nothing could dispose it earlier, and the semaphore holds no wait handle.")]
public sealed class RabbitMqBroker
{
    public const string OverrideVariable = "VERIFICATION_TEST_RABBITMQ";
    private const int ContainerPort = 5672;
    private const string User = "verification";
    private const string Password = "verification";

    private static readonly Lazy<Task<RabbitMqBroker>> Shared = new(() => StartSharedAsync(CancellationToken.None));

    private readonly RabbitMqContainer? container;
    private readonly SemaphoreSlim control = new(1, 1);

    private RabbitMqBroker(Uri amqpUri, RabbitMqContainer? container)
    {
        AmqpUri = amqpUri;
        this.container = container;
    }

    /// <summary><c>amqp://verification:verification@127.0.0.1:PORT/</c>, or the override.</summary>
    public Uri AmqpUri { get; }

    public int Port => AmqpUri.Port;

    public bool IsExternal => container is null;

    /// <summary>The container's id, for tests that act on it with Docker.</summary>
    public string? ContainerId => container?.Id;

    /// <summary>The broker shared by every test of this process.</summary>
    public static Task<RabbitMqBroker> SharedAsync() => Shared.Value;

    /// <summary>Stops the container (the broker shuts down gracefully: durable queues and persistent messages survive), for fault tests.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await owned.StopAsync(cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Starts the container again on the same port, with the same data, after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await owned.StartAsync(cancellationToken);
            await WaitUntilAcceptingAsync(AmqpUri, cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Every queue of a virtual host with its ready and unacknowledged message counts (rabbitmqctl list_queues).</summary>
    public async Task<IReadOnlyList<(string Name, long Ready, long Unacknowledged)>> ListQueuesAsync(string virtualHost = "/", CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        var result = await owned.ExecAsync(
            ["rabbitmqctl", "list_queues", "-p", virtualHost, "--quiet", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged"],
            cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl list_queues exited with {result.ExitCode}: {result.Stderr}");
        }

        var queues = new List<(string, long, long)>();
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
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

    /// <summary>
    /// Every queue of a virtual host with its type and the arguments it was declared with (<c>rabbitmqctl list_queues name
    /// type arguments</c>; arguments as rabbitmqctl prints them, e.g. <c>[{"x-queue-type","quorum"}]</c>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, (string Type, string Arguments)>> ListQueueTypesAsync(string virtualHost = "/", CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        var result = await owned.ExecAsync(
            ["rabbitmqctl", "list_queues", "-p", virtualHost, "--quiet", "--no-table-headers", "name", "type", "arguments"],
            cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl list_queues exited with {result.ExitCode}: {result.Stderr}");
        }

        var queues = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split('\t');
            if (fields.Length == 3) queues[fields[0]] = (fields[1], fields[2]);
        }

        return queues;
    }

    private static async Task<RabbitMqBroker> StartSharedAsync(CancellationToken cancellationToken)
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            return new RabbitMqBroker(new Uri(external), null);
        }

        var image = TestContainers.RabbitMqImage;
        var port = ExternalProcess.FreeLoopbackPort();
        var builder = new RabbitMqBuilder(image)
            .WithLabel(TestContainers.RunLabel, TestContainers.RunId)
            .WithPortBinding(port, ContainerPort)
            .WithCreateParameterModifier(TestContainers.OnLoopback)
            .WithUsername(User)
            .WithPassword(Password);
        var container = await TestContainers.StartAsync(builder.Build, "RabbitMQ", image, cancellationToken);
        var uri = new Uri($"amqp://{User}:{Password}@127.0.0.1:{port}/");
        await WaitUntilAcceptingAsync(uri, cancellationToken);
        return new RabbitMqBroker(uri, container);
    }

    // The wait strategy reads the container's log, which still holds the previous start's line after a restart.
    private static async Task WaitUntilAcceptingAsync(Uri uri, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = uri, RequestedConnectionTimeout = TimeSpan.FromSeconds(5), AutomaticRecoveryEnabled = false };
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync(cancellationToken);
                return;
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }

    private RabbitMqContainer RequireOwned() => container ?? throw new InvalidOperationException(
        $"This RabbitMQ comes from {OverrideVariable} and is not owned by the tests: it cannot be stopped or started.");
}
