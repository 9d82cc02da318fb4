using DotNet.Testcontainers.Builders;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Containers;

namespace Verification.Testing;

/// <summary>
/// What the throwaway PostgreSQL and RabbitMQ containers share: their images (configurable), the label that lets
/// tests/run.sh find what this run started, ports chosen here and published on the loopback only (so a stopped and
/// started container keeps its port), a watchdog that removes the container once the test process is gone (Ryuk is
/// off where its image cannot be pulled), and a failure that says how to get a Docker daemon.
/// </summary>
internal static class TestContainers
{
    public const string PostgresImageVariable = "VERIFICATION_TEST_POSTGRES_IMAGE";
    public const string RabbitMqImageVariable = "VERIFICATION_TEST_RABBITMQ_IMAGE";
    public const string RunLabel = "verification.test-run";

    /// <summary>Built by deploy/build-images.sh; the official <c>postgres:15</c> works the same.</summary>
    public static string PostgresImage => Setting(PostgresImageVariable) ?? "verification-postgres:15";

    /// <summary>Built by deploy/build-images.sh; the official <c>rabbitmq:3.13</c> works the same.</summary>
    public static string RabbitMqImage => Setting(RabbitMqImageVariable) ?? "verification-rabbitmq:3.10";

    public static string RunId => Setting("VERIFICATION_TEST_RUN") ?? "unlabelled";

    /// <summary>Published ports on 127.0.0.1 only, whatever the daemon's default address.</summary>
    public static void OnLoopback(CreateContainerParameters parameters)
    {
        foreach (var bindings in parameters.HostConfig?.PortBindings?.Values ?? [])
        {
            foreach (var binding in bindings) binding.HostIP = "127.0.0.1";
        }
    }

    /// <summary>Builds and starts the container; any failure names the image and, when no daemon answered, how to start one.</summary>
    public static async Task<TContainer> StartAsync<TContainer>(Func<TContainer> build, string what, string image, CancellationToken cancellationToken)
        where TContainer : IContainer
    {
        TContainer container;
        try
        {
            // Build() already asks the daemon: without one it throws before anything starts.
            container = build();
            await container.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(Explain(what, image, ex), ex);
        }

        if (container.Id is { Length: > 0 } id) await WatchAsync(id, cancellationToken);
        return container;
    }

    private static string Explain(string what, string image, Exception ex)
    {
        var daemon = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : "the default socket";
        if (IsDaemonUnreachable(ex))
        {
            return $"{what} needs Docker, and no Docker daemon answered at {daemon} ({ex.GetBaseException().Message}). " +
                   "Start one: tests/run.sh does it as root on Debian (it installs docker.io and starts a loopback-only daemon), " +
                   "or `eval \"$(sudo tests/docker.sh start)\"` before `dotnet test`, or start Docker Desktop / `sudo dockerd`; " +
                   "then build the images with deploy/build-images.sh.";
        }

        return $"{what} did not start from image '{image}' on {daemon}: {ex.GetBaseException().Message}. " +
               "Build the images with deploy/build-images.sh, or name another image in " +
               $"{PostgresImageVariable} / {RabbitMqImageVariable} (the official postgres:15 and rabbitmq:3.13 work too).";
    }

    private static bool IsDaemonUnreachable(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is DockerUnavailableException or System.Net.Sockets.SocketException or HttpRequestException) return true;
            if (e.GetType().Name.Contains("DockerUnavailable", StringComparison.Ordinal)) return true;
        }

        return false;
    }

    /// <summary>Removes the container once this process has exited, however it ended.</summary>
    private static async Task WatchAsync(string containerId, CancellationToken cancellationToken)
    {
        var directory = ThrowawayDirectory.Create("container");
        await directory.StartWatchdogAsync($"docker rm -f -v {containerId} >/dev/null 2>&1", cancellationToken);
    }

    private static string? Setting(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value.Trim() : null;
}
