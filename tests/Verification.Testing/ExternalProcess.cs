using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Verification.Testing;

/// <summary>Runs the command-line tools the throwaway servers' watchdogs need.</summary>
internal static class ExternalProcess
{
    public static async Task<string> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish in time.");
        }

        output.Append(await stdout).Append(await stderr);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {output}");
        }

        return output.ToString();
    }

    /// <summary>
    /// Starts a command in its own session with its output in a file, so it neither holds the test runner's pipes
    /// nor dies with the test process (the watchdog, not the runner, stops it).
    /// </summary>
    public static async Task StartDetachedAsync(
        string commandLine, string logFile, IDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        await RunAsync(
            "/bin/sh",
            ["-c", $"setsid {commandLine} </dev/null >>{Quote(logFile)} 2>&1 &"],
            environment,
            TimeSpan.FromSeconds(10),
            cancellationToken);
    }

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    /// <summary>A loopback port free right now; servers are started on it at once.</summary>
    public static int FreeLoopbackPort()
    {
        // Below Linux's ephemeral range (32768-60999): a port the kernel hands out as an outgoing connection's source
        // port could otherwise be taken between this check and the server's bind ("address already in use").
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var candidate = Random.Shared.Next(20_000, 32_768);
            // Never the same port twice in one test process: the first taker may not have bound it yet.
            if (!HandedOut.TryAdd(candidate, 0)) continue;
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, candidate);
                probe.Start();
                probe.Stop();
                return candidate;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
