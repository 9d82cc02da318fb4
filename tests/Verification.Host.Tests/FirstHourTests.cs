using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Verification.Host.Tests;

/// <summary>
/// What a newcomer meets first, through the real binary started in a fresh directory: data goes to ./data under the
/// directory the command runs in, and only a start that is accepted writes anything.
/// </summary>
public sealed class FirstHourTests : IDisposable
{
    private static string HostDll => Path.Combine(AppContext.BaseDirectory, "verification-host.dll");

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "verification-first-hour-" + Guid.NewGuid().ToString("N"));

    public FirstHourTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(int ExitCode, string StdOut, string StdErr)> RunHostAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _directory };
        info.ArgumentList.Add(HostDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private List<string> Written() => [.. Directory.EnumerateFileSystemEntries(_directory, "*", SearchOption.AllDirectories)];

    [Theory]
    [InlineData("--help")]
    [InlineData("seed", "--help")]
    [InlineData("migrate", "-h")]
    public async Task HelpPrintsUsageAndWritesNothing(params string[] args)
    {
        var (exitCode, stdout, _) = await RunHostAsync(args);
        Assert.Equal(0, exitCode);
        Assert.Contains(args[0] == "seed" ? "seed [--count N]" : "verification-host migrate", stdout);
        Assert.Empty(Written());
    }

    [Theory]
    [InlineData("--Verification:Listen:Port=abc")]
    [InlineData("--Verification:Kur:RetryDelay=soon")]
    [InlineData("--Verification:Audit:TreeHeadInterval=soon")]
    public async Task AStartRefusedForABadSettingWritesNothing(string setting)
    {
        var (exitCode, _, stderr) = await RunHostAsync(setting);
        Assert.Equal(2, exitCode);
        Assert.StartsWith("configuration error: ", stderr);
        // The modules composed before the bad setting made tokens and keys in memory only.
        Assert.Empty(Written());
    }

    [Fact]
    public async Task HealthAgainstNoServerWritesNothing()
    {
        var (exitCode, _, _) = await RunHostAsync("health", "--address", $"http://127.0.0.1:{FreePort()}");
        Assert.NotEqual(0, exitCode);
        Assert.Empty(Written());
    }

    [Fact]
    public async Task MigrateUsesDataUnderTheCurrentDirectoryKeepsItOutOfGitAndOpensNoPort()
    {
        // Another process holds the configured port, as a running suite would: migrate must not need it.
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (exitCode, stdout, stderr) = await RunHostAsync($"--Verification:Listen:Port={port}", "migrate");
        Assert.True(exitCode == 0, stdout + stderr);
        var data = Path.Combine(_directory, "data");
        Assert.Contains($"Data directory: {data} (created now)", stdout);
        Assert.Contains("migrations applied for:", stdout);
        Assert.DoesNotContain("Exception", stdout + stderr);
        Assert.Equal("*", File.ReadAllLines(Path.Combine(data, ".gitignore")).Last());
        Assert.True(File.Exists(Path.Combine(data, "members.json")));
        Assert.True(File.Exists(Path.Combine(data, "dev-credentials", "bank-bri.token")));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "dev-credentials", "bank-bri.token")));

        // A second run finds it and says so without "created now".
        var again = await RunHostAsync($"--Verification:Listen:Port={port}", "migrate");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains($"Data directory: {data}\n", again.StdOut.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task ServingOnAPortInUseIsOneLineAndExitOne()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var (exitCode, _, stderr) = await RunHostAsync("--Verification:Listen:Address=127.0.0.1", $"--Verification:Listen:Port={port}");
        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"127.0.0.1:{port} is already in use", line);
    }

    [Fact]
    public async Task SeedPrintsTheDataDirectoryAndASampleOfNiksToTry()
    {
        var (exitCode, stdout, stderr) = await RunHostAsync("seed", "--count", "3000");
        Assert.True(exitCode == 0, stdout + stderr);
        var sample = Path.Combine(_directory, "data", "seed-sample.csv");
        Assert.Contains($"NIKs to try", stdout);
        Assert.Contains(sample, stdout);
        var rows = File.ReadAllLines(sample).Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var expected in new[] { "COVERED", "NOT COVERED", "INVALID (exit 4)" }) Assert.Contains(rows, r => r[2] == expected);
        Assert.Contains(rows, r => r[3] == "INACTIVE");
        var covered = rows.First(r => r[2] == "COVERED")[1];
        Assert.Contains($"verification verify {covered}", stdout);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
