using System.Diagnostics;

namespace Verification.Cli.Tests;

/// <summary>
/// The built <c>verification</c> binary as a person runs it against the monolithic host: in a pseudo-terminal (util-linux
/// <c>script</c>) and piped, with <c>NO_COLOR</c>, and with <c>--output json</c>.
/// </summary>
public sealed class RealBinaryTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    /// <summary>The CLI's own build output (its own dependency versions), in the configuration these tests were built in.</summary>
    internal static string Cli
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Verification.sln"))) root = root.Parent;
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            var cli = Path.Combine(root!.FullName, "services", "Verification.Cli", "bin", configuration, "net10.0", "verification.dll");
            return File.Exists(cli) ? cli : throw new FileNotFoundException($"Build services/Verification.Cli first: {cli} is missing.", cli);
        }
    }

    internal static string Dotnet => Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private ProcessStartInfo Start(string member, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Cli }.Concat(args).Concat(["--address", suite.Address, "--token-file", suite.TokenFile(member)])) start.ArgumentList.Add(argument);
        start.Environment.Remove("NO_COLOR");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return start;
    }

    private static async Task<CliRun> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(deadline.Token);
        return new CliRun(process.ExitCode, await output, await error);
    }

    /// <summary>The same command inside a pseudo-terminal: stdout is a terminal, as when a person types it.</summary>
    private async Task<CliRun> RunInTerminalAsync(string member, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var inner = Start(member, environment, args);
        var command = string.Join(' ', new[] { inner.FileName }.Concat(inner.ArgumentList).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var start = new ProcessStartInfo("script") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-qefc", command, "/dev/null" }) start.ArgumentList.Add(argument);
        start.Environment.Remove("NO_COLOR");
        start.Environment["TERM"] = "xterm-256color";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return await RunAsync(start);
    }

    private const char Escape = '\u001b';

    /// <summary>An SGR sequence: what sets colour and weight.</summary>
    private const string Colour = "\u001b\\[[0-9;]*m";

    [Fact]
    public async Task ColourIsForTerminalsOnlyAndNoColorTurnsItOffThere()
    {
        var nik = TestData.NewNik();
        string[] verify = ["verify", nik];

        // In a terminal the answer is coloured: otherwise the two checks below could pass with a CLI that never colours.
        var terminal = await RunInTerminalAsync("bank-bri", null, verify);
        Assert.True(terminal.ExitCode == 1, terminal.ToString());
        Assert.Contains("NOT COVERED", terminal.Output, StringComparison.Ordinal);
        Assert.Matches(Colour, terminal.Output);

        var noColor = await RunInTerminalAsync("bank-bri", new Dictionary<string, string> { ["NO_COLOR"] = "1" }, verify);
        Assert.True(noColor.ExitCode == 1, noColor.ToString());
        Assert.Contains("NOT COVERED", noColor.Output, StringComparison.Ordinal);
        // .NET itself may switch a terminal's keypad mode (ESC [?1h): that is not colour, so only colour codes are counted here.
        Assert.DoesNotMatch(Colour, noColor.Output);

        foreach (var args in new[] { verify, TestData.Enrol(TestData.NewNik(), TestData.NewLoan()) })
        {
            var piped = await RunAsync(Start("bank-bri", null, args));
            Assert.True(piped.ExitCode is 0 or 1, piped.ToString());
            Assert.DoesNotContain(Escape, piped.Output + piped.Error);
        }
    }

    [Fact]
    public async Task JsonOutputOfVerifyEnrolAndAStaffUploadParsesWithTheDocumentedFields()
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        var enrol = await RunAsync(Start("bank-bri", null, [.. TestData.Enrol(nik, loan), "-o", "json"]));
        Assert.True(enrol.ExitCode == 0, enrol.ToString());
        var enrolled = Assert.Single(TestData.JsonLines(enrol.Output));
        Assert.Equal("ENROLMENT_OUTCOME_ENROLLED", enrolled.GetProperty("outcome").GetString());
        Assert.Matches("^[0-9]{11}$", enrolled.GetProperty("participantNumber").GetString());

        var verify = await RunAsync(Start("bank-bri", null, "verify", nik, "-o", "json"));
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var answer = Assert.Single(TestData.JsonLines(verify.Output));
        Assert.True(answer.GetProperty("covered").GetBoolean());
        Assert.Equal("SEGMENT_BPU", answer.GetProperty("segment").GetString());
        Assert.DoesNotContain(Escape, verify.Output);

        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            $"J1;11000001;{TestData.NewNik()};Siti Rahayu;1990-08-15;M;Staf;Dinas Kominfo;PPNPN;{TestData.Today};;3500000",
            $"J2;11000001;{TestData.NewNik()};Wage Negatif;1990-08-15;M;Staf;Dinas;PPNPN;{TestData.Today};;-1"));
        var upload = await RunAsync(Start("kemnaker", null, "nonasn", "register", input, "-o", "json"));
        Assert.True(upload.ExitCode == 1, upload.ToString());
        var summary = Assert.Single(TestData.JsonLines(upload.Output));
        Assert.Equal(2, summary.GetProperty("rows").GetInt32());
        Assert.Equal(1, summary.GetProperty("registered").GetInt32());
        Assert.Equal(1, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(0, summary.GetProperty("unchanged").GetInt32());
        Assert.True(File.Exists(summary.GetProperty("results").GetString()));
    }
}
