using System.Diagnostics;

namespace Verification.Testing;

/// <summary>
/// A temporary directory for one throwaway server, with a detached watchdog that removes the server's container and
/// deletes the directory once the test process is gone, however it ended: the test runner may kill its host before
/// ProcessExit handlers finish.
/// </summary>
internal sealed class ThrowawayDirectory
{
    private ThrowawayDirectory(string path) => Path = path;

    public string Path { get; }

    public static ThrowawayDirectory Create(string kind)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"verification-test-{kind}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(path);
        return new ThrowawayDirectory(path);
    }

    /// <summary>Starts the watchdog; <paramref name="stopScript"/> is shell that stops the server quickly.</summary>
    public async Task StartWatchdogAsync(string stopScript, CancellationToken cancellationToken)
    {
        var script = System.IO.Path.Combine(Path, "watchdog.sh");
        var testProcess = Environment.ProcessId;
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            cd /
            while kill -0 {testProcess} 2>/dev/null; do sleep 0.3; done
            {stopScript}
            rm -rf {ExternalProcess.Quote(Path)}
            """, cancellationToken);
        await ExternalProcess.StartDetachedAsync($"/bin/sh {ExternalProcess.Quote(script)}", "/dev/null", new Dictionary<string, string>(), cancellationToken);
    }

    public override string ToString() => Path;

    internal static void Debug(string message) => Trace.WriteLine($"[verification-testing] {message}");
}
