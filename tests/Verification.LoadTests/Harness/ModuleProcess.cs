using System.Diagnostics;
using Grpc.Health.V1;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Channels;

namespace Verification.LoadTests.Harness;

/// <summary>
/// One verification-host process running one module: started with the arguments the suite gives it, killed and
/// restarted by fault scenarios, its output in a log file under the work directory.
/// </summary>
public sealed class ModuleProcess(string module, string hostBinary, IReadOnlyList<string> arguments, int port, string serviceName, string logFile, IReadOnlyDictionary<string, string>? environment = null) : IAsyncDisposable
{
    private readonly object gate = new();
    private readonly Queue<string> tail = new();
    private readonly Dictionary<string, (int Count, string First, string Last)> warnings = new(StringComparer.Ordinal);
    private Process? process;
    private StreamWriter? log;

    public string Module { get; } = module;

    public int Port { get; } = port;

    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>Where the process's standard output and error go.</summary>
    public string LogFile { get; } = logFile;

    /// <summary>The gRPC health service name that says this module is ready (database and bus).</summary>
    public string ServiceName { get; } = serviceName;

    public int? Pid => process is { HasExited: false } p ? p.Id : null;

    public int Starts { get; private set; }

    /// <summary>Starts the host; returns once its process runs (not yet serving: see <see cref="WaitUntilServingAsync"/>).</summary>
    public void Start()
    {
        lock (gate)
        {
            if (process is { HasExited: false }) throw new InvalidOperationException($"{Module} is already running.");
            log ??= new StreamWriter(new FileStream(LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            var dll = hostBinary.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
            var start = new ProcessStartInfo(dll ? "dotnet" : hostBinary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(LogFile)!,
            };
            if (dll) start.ArgumentList.Add(hostBinary);
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            start.Environment["DOTNET_NOLOGO"] = "1";
            foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
            var started = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {hostBinary}.");
            started.StandardInput.Close();
            started.OutputDataReceived += (_, e) => Write(e.Data);
            started.ErrorDataReceived += (_, e) => Write(e.Data);
            started.BeginOutputReadLine();
            started.BeginErrorReadLine();
            process = started;
            Starts++;
            Write($"--- harness: started {Module} (pid {started.Id}) at {DateTimeOffset.UtcNow:O}");
        }
    }

    /// <summary>Polls gRPC health until the module's service is SERVING.</summary>
    public async Task<TimeSpan> WaitUntilServingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var channel = new VerificationChannel(Address, new ChannelSettings { RetryUnavailable = false });
        while (true)
        {
            if (process is { HasExited: true } exited)
            {
                // The parameterless wait also drains the redirected output: without it the tail can miss the error that ended the process.
                exited.WaitForExit();
                throw new InvalidOperationException($"{Module} exited with code {exited.ExitCode} before serving:\n{Tail()}");
            }

            try
            {
                var answer = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = ServiceName }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(2), cancellationToken));
                if (answer.Status == HealthCheckResponse.Types.ServingStatus.Serving) return stopwatch.Elapsed;
            }
            catch (RpcException)
            {
            }

            if (stopwatch.Elapsed > timeout) throw new TimeoutException($"{Module} was not SERVING within {timeout.TotalSeconds:0} s:\n{Tail()}");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL: no graceful shutdown, no outbox flush, in-flight calls cut.</summary>
    public void Kill()
    {
        Process? victim;
        lock (gate) victim = process;
        if (victim is null || victim.HasExited) return;
        Write($"--- harness: SIGKILL {Module} (pid {victim.Id}) at {DateTimeOffset.UtcNow:O}");
        victim.Kill();
        victim.WaitForExit(10_000);
    }

    /// <summary>SIGTERM and wait (graceful shutdown), then SIGKILL if it takes too long.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Process? running;
        lock (gate) running = process;
        if (running is null || running.HasExited) return;
        Machine.Signal(running.Id, Machine.SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await running.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            running.Kill();
            await running.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// Calls this process served, by gRPC method, from its log's "Request starting HTTP/2 POST http://…/&lt;service&gt;/&lt;method&gt;"
    /// lines (hosts started with <see cref="LoadOptions.CountCalls"/>); every start of the process counts.
    /// </summary>
    public IReadOnlyDictionary<string, int> CallsServed()
    {
        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(LogFile)) return calls;
        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            var at = line.IndexOf("Request starting HTTP/2 POST http://", StringComparison.Ordinal);
            if (at < 0) continue;
            var url = line[(at + "Request starting HTTP/2 POST ".Length)..].Split(' ')[0];
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Segments.Length < 3) continue;
            var method = uri.Segments[^2].TrimEnd('/').Split('.')[^1] + "/" + uri.Segments[^1];
            calls[method] = calls.GetValueOrDefault(method) + 1;
        }

        return calls;
    }

    public double? ResidentMegabytes() => Pid is { } pid ? Machine.ResidentMegabytes(pid) : null;

    public string Tail()
    {
        lock (tail) return string.Join('\n', tail);
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (tail)
        {
            tail.Enqueue(line);
            while (tail.Count > 40) tail.Dequeue();
            log?.WriteLine(line);
            CountWarning(line);
        }
    }

    /// <summary>This process's warnings and failures grouped by logger and message shape, most frequent first.</summary>
    public IReadOnlyList<string> WarningDigest(int groups)
    {
        lock (tail)
        {
            return warnings.OrderByDescending(w => w.Value.Count).Take(groups)
                .Select(w => $"{w.Value.Count,6} x {w.Key} ({w.Value.First[11..19]}–{w.Value.Last[11..19]})")
                .ToList();
        }
    }

    // Host lines read "<ISO instant> <level> <category>[ trace=…]: <message>"; digits are blanked so row numbers group.
    private void CountWarning(string line)
    {
        if (line.Length < 40 || line[4] != '-' || !(line.Contains(" warn ", StringComparison.Ordinal) || line.Contains(" fail ", StringComparison.Ordinal))) return;
        var instant = line[..line.IndexOf(' ', StringComparison.Ordinal)];
        if (instant.Length < 19) return;
        var rest = line[(instant.Length + 1)..];
        rest = System.Text.RegularExpressions.Regex.Replace(rest, " trace=[0-9a-f]+", "");
        rest = System.Text.RegularExpressions.Regex.Replace(rest, "[0-9]+", "#");
        var key = rest.Length > 150 ? rest[..150] : rest;
        warnings[key] = warnings.TryGetValue(key, out var seen) ? (seen.Count + 1, seen.First, instant) : (1, instant, instant);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        lock (tail)
        {
            log?.Dispose();
            log = null;
        }

        process?.Dispose();
    }
}
