using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;

namespace Verification.Rpc.Tests;

/// <summary>Locates the repository and Debian's python3 with grpcio, failing loudly when they are missing.</summary>
public static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Verification.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Verification.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string InteropDir => Path.Combine(RepoRoot, "tests", "interop");

    public static void RequireGrpcio()
    {
        if (!File.Exists(Interpreter)) throw new InvalidOperationException($"{Interpreter} is missing: apt-get install -y python3 python3-grpcio python3-grpc-tools");
        var check = Process.Start(new ProcessStartInfo(Interpreter, "-c \"import grpc, grpc_tools\"") { RedirectStandardError = true })!;
        check.WaitForExit();
        if (check.ExitCode != 0) throw new InvalidOperationException("python3-grpcio / python3-grpc-tools are missing: apt-get install -y python3-grpcio python3-grpc-tools");
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string script, string arguments, TimeSpan timeout)
    {
        RequireGrpcio();
        var info = new ProcessStartInfo(Interpreter, $"{script} {arguments}")
        {
            WorkingDirectory = InteropDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish within {timeout}: {await stdout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts interop_server.py on a free port and returns it once it says where it listens.</summary>
    public static async Task<(Process Process, int Port)> StartServerAsync(string extraArguments = "")
    {
        RequireGrpcio();
        var info = new ProcessStartInfo(Interpreter, $"interop_server.py --port 0 {extraArguments}")
        {
            WorkingDirectory = InteropDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info)!;
        _ = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("interop_server.py exited before listening");
            const string prefix = "listening on 127.0.0.1:";
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return (process, int.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

public class InteropTests
{
    private static void AssertAllCasesPassed(string output)
    {
        foreach (var name in InteropClient.AllCases)
            Assert.True(output.Contains($"PASS {name}\n", StringComparison.Ordinal), $"case {name} did not pass:\n{output}");
        Assert.Contains($"{InteropClient.AllCases.Count} passed, 0 failed", output);
    }

    [Fact]
    public async Task PythonGrpcioClientPassesEveryCaseAgainstOurServer()
    {
        await using var server = await TestServer.StartAsync();
        var (exitCode, output) = await Python.RunAsync("interop_client.py", $"--server_host 127.0.0.1 --server_port {server.Port} --test_cases all", TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, output);
        AssertAllCasesPassed(output);
    }

    [Fact]
    public async Task PythonGrpcioClientPassesEveryCaseAgainstOurServerOverTls()
    {
        using var certificate = InteropCommands.SelfSignedCertificate();
        var caFile = Path.Combine(Path.GetTempPath(), $"interop-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        try
        {
            await using var server = await TestServer.StartAsync(certificate: certificate);
            var (exitCode, output) = await Python.RunAsync("interop_client.py", $"--server_host 127.0.0.1 --server_host_override localhost --server_port {server.Port} --use_tls --ca_file {caFile} --test_cases all", TimeSpan.FromMinutes(2));
            Assert.True(exitCode == 0, output);
            AssertAllCasesPassed(output);
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task OurClientPassesEveryCaseAgainstThePythonGrpcioServer()
    {
        var (process, port) = await Python.StartServerAsync();
        try
        {
            using var channel = new RpcChannel($"http://127.0.0.1:{port}");
            var client = new InteropClient(channel);
            var failures = new List<string>();
            foreach (var name in InteropClient.AllCases)
            {
                if (await client.RunAsync(name) is { } failure) failures.Add($"{name}: {failure}");
            }
            Assert.Empty(failures);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    [Fact]
    public async Task MutualTlsHandsThePeerCertificateToTheHandler()
    {
        using var serverCertificate = InteropCommands.SelfSignedCertificate();
        using var clientCertificate = InteropCommands.SelfSignedCertificate();
        await using var server = await TestServer.StartAsync(certificate: serverCertificate, requireClientCertificate: true);
        using var channel = new RpcChannel(server.Address, new RpcChannelOptions
        {
            ClientCertificate = clientCertificate,
            ServerCertificateValidation = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == serverCertificate.GetCertHashString(),
        });
        var client = new TestServiceClient(channel);
        var response = await client.UnaryCall(new Grpc.Testing.SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "peer-cert" } }));
        Assert.Equal(clientCertificate.Thumbprint, response.Username);
        var failures = new List<string>();
        var interop = new InteropClient(channel);
        foreach (var name in InteropClient.AllCases)
        {
            if (await interop.RunAsync(name) is { } failure) failures.Add($"{name}: {failure}");
        }
        Assert.Empty(failures);

        using var anonymous = new RpcChannel(server.Address, new RpcChannelOptions
        {
            Retry = RetryPolicy.None,
            ServerCertificateValidation = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == serverCertificate.GetCertHashString(),
        });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(anonymous).EmptyCall(new Grpc.Testing.Empty()));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }
}
