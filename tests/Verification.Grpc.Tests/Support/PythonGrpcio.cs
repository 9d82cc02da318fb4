using System.Diagnostics;
using Verification.Testing;

namespace Verification.Grpc.Tests.Support;

/// <summary>
/// Debian's python3-grpcio (gRPC C-core) as the interop peer, run with <c>/usr/bin/python3</c> (another python3 may come
/// first on PATH without grpc). Missing packages fail the test with what to install; they never skip it.
/// </summary>
public static class PythonGrpcio
{
    public const string Interpreter = "/usr/bin/python3";

    private const string Install = "apt-get install -y python3-grpcio python3-grpc-tools (tests/run.sh installs them when run as root)";

    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Verification.sln"))) directory = directory.Parent;
            return directory?.FullName ?? throw new InvalidOperationException("Verification.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Script(string name) => Path.Combine(RepositoryRoot, "tests", "interop", name);

    /// <summary>Throws, naming the Debian packages to install, unless /usr/bin/python3 imports grpc and grpc_tools.</summary>
    public static async Task RequireAsync()
    {
        if (!File.Exists(Interpreter)) throw new InvalidOperationException($"{Interpreter} is missing: apt-get install -y python3 python3-grpcio python3-grpc-tools");
        try
        {
            await ExternalProcess.RunAsync(Interpreter, ["-c", "import grpc, grpc_tools"], timeout: TimeSpan.FromSeconds(60));
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{Interpreter} cannot import grpc and grpc_tools; install them: {Install}. ({ex.Message.Trim()})", ex);
        }
    }

    /// <summary>Runs interop_client.py to the end; its output, or an exception holding it when a case failed.</summary>
    public static async Task<string> RunClientAsync(params string[] arguments)
    {
        await RequireAsync();
        return await ExternalProcess.RunAsync(Interpreter, [Script("interop_client.py"), .. arguments], timeout: TimeSpan.FromMinutes(3));
    }

    /// <summary>Starts interop_server.py on a free port; dispose to stop it.</summary>
    public static async Task<PythonInteropServer> StartServerAsync(params string[] arguments)
    {
        await RequireAsync();
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[Script("interop_server.py"), "--port", "0", .. arguments]) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start interop_server.py.");
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            const string prefix = "listening on 127.0.0.1:";
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException("interop_server.py exited before listening: " + await errors);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                    return new PythonInteropServer(process, int.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }
}

/// <summary>A running interop_server.py, stopped (by its own process id) on dispose.</summary>
public sealed class PythonInteropServer(Process process, int port) : IAsyncDisposable
{
    public int Port => port;

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }
}
