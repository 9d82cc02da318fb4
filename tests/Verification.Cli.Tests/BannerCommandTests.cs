using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Verification.Cli.Tests;

/// <summary>
/// Issue 21's "a first call that works": the host binary, started as a newcomer starts it (seeded, from a directory of their
/// own), prints ready-to-paste <c>verification</c> commands; each is run as printed through the real CLI binary.
/// </summary>
public sealed partial class BannerCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("verification-banner-");

    /// <summary>The host's own build output, in the configuration these tests were built in.</summary>
    private static string HostBinary
    {
        get
        {
            var cli = RealBinaryTests.Cli;
            var services = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(cli)!, "..", "..", "..", ".."));
            var configuration = new DirectoryInfo(Path.GetDirectoryName(cli)!).Parent!.Name;
            var binary = Path.Combine(services, "Verification.Host", "bin", configuration, "net10.0", "verification-host.dll");
            return File.Exists(binary) ? binary : throw new FileNotFoundException($"Build services/Verification.Host first: {binary} is missing.", binary);
        }
    }

    [Fact]
    public async Task EveryCommandTheSeededHostsBannerPrintsRunsAsPrintedWithTheExitCodeItStates()
    {
        // 1. Seed, as the README's first step, from the newcomer's directory: data/ lands there.
        var seed = await RunAsync(Start(HostBinary, "seed"), TimeSpan.FromMinutes(5));
        Assert.True(seed.ExitCode == 0, seed.ToString());
        Assert.True(File.Exists(Path.Combine(work.FullName, "data", "seed-sample.csv")), seed.ToString());

        // 2. Start the suite on a free port and read its banner up to its last example command.
        using var host = Process.Start(Start(HostBinary, "--Verification:Listen:Port=0"))!;
        try
        {
            await RunBannerCommandsAsync(host);
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
                await host.WaitForExitAsync();
            }
        }
    }

    private async Task RunBannerCommandsAsync(Process host)
    {
        var printed = new StringBuilder();
        var banner = new List<string>();
        var errors = host.StandardError.ReadToEndAsync();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            var inBanner = false;
            while (await host.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                printed.AppendLine(line);
                inBanner |= line.StartsWith("Try it with the command-line client", StringComparison.Ordinal);
                if (!inBanner || !line.StartsWith("  ", StringComparison.Ordinal)) continue;
                banner.Add(line.Trim());
                if (line.Contains("NOT COVERED", StringComparison.Ordinal)) break;
            }
        }
        // Keep draining the host's log so it never blocks on a full pipe.
        _ = host.StandardOutput.ReadToEndAsync();

        var commands = banner.Where(l => !l.StartsWith('#')).ToList();
        var calls = commands.Where(l => l.StartsWith("verification ", StringComparison.Ordinal)).ToList();
        Assert.True(calls.Count >= 2, $"the banner printed no verification commands to try:\n{printed}\n--- host errors\n{(host.HasExited ? await errors : "")}");
        Assert.Contains(commands, l => l.StartsWith("export VERIFICATION_TOKEN_FILE=", StringComparison.Ordinal));

        // 3. Paste them into a shell where `verification` is the CLI binary: each ends with the exit code its comment states (else 0).
        var script = new StringBuilder("verification() { \"$VERIFICATION_DOTNET\" \"$VERIFICATION_CLI\" \"$@\"; }\n");
        foreach (var command in commands)
        {
            script.AppendLine(command);
            if (command.StartsWith("verification ", StringComparison.Ordinal)) script.AppendLine("echo \"@@exit $?\"");
        }
        var shell = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work.FullName };
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add(script.ToString());
        Clean(shell);
        shell.Environment["VERIFICATION_DOTNET"] = RealBinaryTests.Dotnet;
        shell.Environment["VERIFICATION_CLI"] = RealBinaryTests.Cli;
        var pasted = await RunAsync(shell, TimeSpan.FromMinutes(5));
        Assert.True(pasted.ExitCode == 0, pasted.ToString());

        var exits = ExitLine().Matches(pasted.Output).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var expected = calls.Select(c => StatedExit().Match(c) is { Success: true } stated ? int.Parse(stated.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0).ToList();
        Assert.True(expected.SequenceEqual(exits), $"expected exits {string.Join(",", expected)}, got {string.Join(",", exits)}\n{string.Join('\n', commands)}\n{pasted}\n--- host\n{printed}");
        // What the commands promise: one NIK covered, one not.
        Assert.Contains("NOT COVERED", pasted.Output, StringComparison.Ordinal);
        Assert.Matches(new Regex("(^|[^T] )COVERED", RegexOptions.Multiline), pasted.Output);
        Assert.False(host.HasExited, "the host stopped while the commands ran");
    }

    /// <summary>A command of the host binary run from the test's own directory, with nothing of the test process's settings.</summary>
    private ProcessStartInfo Start(string dll, params string[] args)
    {
        var start = new ProcessStartInfo(RealBinaryTests.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work.FullName };
        start.ArgumentList.Add(dll);
        foreach (var argument in args) start.ArgumentList.Add(argument);
        Clean(start);
        return start;
    }

    private static void Clean(ProcessStartInfo start)
    {
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("VERIFICATION_", StringComparison.Ordinal) || k.StartsWith("Verification__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment.Remove("NO_COLOR");
        start.Environment["DOTNET_NOLOGO"] = "1";
    }

    private static async Task<CliRun> RunAsync(ProcessStartInfo start, TimeSpan limit)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(deadline.Token);
        return new CliRun(process.ExitCode, await output, await error);
    }

    [GeneratedRegex("^@@exit ([0-9]+)$", RegexOptions.Multiline)]
    private static partial Regex ExitLine();

    [GeneratedRegex(@"\(exit ([0-9]+)\)")]
    private static partial Regex StatedExit();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        try
        {
            work.Delete(recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans its temp folder.
        }

        return Task.CompletedTask;
    }
}
