using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.NonAsn.V1;
using Verification.Cli.Commands;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary>What the test's NonAsn did with the upload it held open.</summary>
public sealed class HeldUploadState
{
    /// <summary>Rows answered (REGISTERED) before the server stops answering and holds the stream.</summary>
    public int AnswerRows { get; init; } = 5;

    /// <summary>Set once the answered rows are written and the server is holding the stream.</summary>
    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the client ended the held call (its cancellation reached the server).</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<string> AnsweredRowIds { get; } = [];

    /// <summary>The authorization header the upload came with.</summary>
    public string? Authorization { get; set; }
}

/// <summary>
/// NonAsnService that answers the first rows of an upload and then holds the stream open, so the CLI is interrupted mid-upload
/// whatever the machine's load: the in-process host could finish (or fail) the upload before the signal arrived.
/// </summary>
public sealed class HoldingNonAsnService(HeldUploadState state) : NonAsnService.NonAsnServiceBase
{
    public override async Task RegisterEmployees(IAsyncStreamReader<RegisterEmployeesRequest> requestStream, IServerStreamWriter<RegisterEmployeesResponse> responseStream, ServerCallContext context)
    {
        state.Authorization = context.RequestHeaders.GetValue("authorization");
        for (var offset = 0; offset < state.AnswerRows && await requestStream.MoveNext(context.CancellationToken); offset++)
        {
            var row = requestStream.Current;
            lock (state.AnsweredRowIds) state.AnsweredRowIds.Add(row.RowId);
            await responseStream.WriteAsync(new RegisterEmployeesResponse
            {
                Row = new EmployeeRowResult
                {
                    RowId = row.RowId, Offset = offset, Outcome = RegistrationOutcome.Registered, EmploymentId = "emp-" + offset,
                    ParticipantNumber = "1234567890" + offset.ToString(CultureInfo.InvariantCulture),
                },
            });
        }

        state.Holding.TrySetResult();
        try
        {
            // Holds until the client ends the call; a test that failed first ends it by ending the CLI.
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            state.Cancelled.TrySetResult();
            throw;
        }
    }
}

/// <summary>
/// Issue 21's Ctrl-C through the real binary: a clerk at a terminal presses Ctrl+C in the middle of a staff upload.
/// The CLI runs in a pseudo-terminal (util-linux <c>script</c>) so that its progress bar says how many rows it has
/// confirmed: Ctrl+C is typed once the CLI itself has taken the server's answers, not merely once the server sent them,
/// so which rows are REGISTERED in the results file is known exactly, whatever the machine's load.
/// </summary>
public sealed class InterruptedUploadTests
{
    private const int Rows = 40;

    /// <summary>Bound of every wait: generous for a loaded 2-core machine, so a hang fails with a message instead.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task CtrlCMidUploadExitsOneThirtySaysWhatWasSavedAndLeavesAResultForEveryRowAsWholeLines()
    {
        var state = new HeldUploadState();
        await using var server = await FakeServer.StartAsync(services => services.AddSingleton(state), app => app.MapGrpcService<HoldingNonAsnService>());
        var upload = await StaffUpload.WriteAsync(server.Address);
        var errorFile = Path.Combine(upload.Directory, "cli.stderr");

        // stdout is the terminal (a wide one, so the bar's counts are not cut); stderr goes to a file so it is read on its own.
        // The CLI replaces the shell (exec), so Ctrl+C reaches only the CLI and script exits with the CLI's exit code.
        var shell = $"stty cols 200 rows 50; exec {string.Join(' ', upload.Command.Select(Quote))} 2>{Quote(errorFile)}";
        var start = new ProcessStartInfo("script")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in new[] { "-qefc", shell, "/dev/null" }) start.ArgumentList.Add(argument);
        StaffUpload.CleanEnvironment(start);
        start.Environment["TERM"] = "xterm-256color";

        using var terminal = Process.Start(start)!;
        try
        {
            var screen = new Screen(terminal.StandardOutput);
            var scriptErrors = terminal.StandardError.ReadToEndAsync();
            var exited = terminal.WaitForExitAsync();

            // The upload is under way: the server answered 5 rows and holds the rest, and the CLI's bar shows the 5 as confirmed.
            var confirmed = new Regex($"(?<![0-9.]){state.AnswerRows} rows confirmed", RegexOptions.None, Patience);
            var ready = Task.WhenAll(state.Holding.Task, screen.Shows(confirmed));
            if (await Task.WhenAny(ready, exited, Task.Delay(Patience)) != ready)
            {
                Assert.Fail($"the CLI did not reach 5 confirmed rows with the server holding (server holding: {state.Holding.Task.IsCompleted}, "
                    + $"CLI ended: {terminal.HasExited}) within {Patience}; screen: {screen.Text}; stderr: {ReadIfThere(errorFile)}");
            }

            // Now the clerk presses Ctrl+C: the terminal sends SIGINT to the CLI.
            await terminal.StandardInput.WriteAsync('\u0003');
            await terminal.StandardInput.FlushAsync();
            if (await Task.WhenAny(exited, Task.Delay(Patience)) != exited)
                Assert.Fail($"the CLI did not end within {Patience} of Ctrl+C; screen: {screen.Text}; stderr: {ReadIfThere(errorFile)}");
            terminal.StandardInput.Close();
            var scriptError = await scriptErrors.WaitAsync(Patience);
            var error = await File.ReadAllTextAsync(errorFile);

            // Exactly the 5 rows the CLI confirmed before Ctrl+C are REGISTERED.
            await AssertInterruptedAsync(upload, state, terminal.ExitCode, error, $"screen: {screen.Text}; script: {scriptError}", registered: state.AnswerRows);
        }
        finally
        {
            // A failed wait must not leave the CLI holding the server (whose disposal waits for the call): end what this test started.
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// The same from a script or a scheduler (output piped, no bar), stopped by <c>kill -INT</c> or <c>kill -TERM</c> once the
    /// server holds. Without the bar the test cannot know how many of the 5 answers the CLI had taken when the signal came, so
    /// it checks that the REGISTERED rows are a run of the answered ones from the first, with the server's ids, and the rest NOT_DONE.
    /// </summary>
    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task ASignalToAPipedUploadExitsOneThirtyWithAResultForEveryRow(string signal)
    {
        var state = new HeldUploadState();
        await using var server = await FakeServer.StartAsync(services => services.AddSingleton(state), app => app.MapGrpcService<HoldingNonAsnService>());
        var upload = await StaffUpload.WriteAsync(server.Address);
        var start = new ProcessStartInfo(upload.Command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in upload.Command.Skip(1)) start.ArgumentList.Add(argument);
        StaffUpload.CleanEnvironment(start);

        using var process = Process.Start(start)!;
        try
        {
            // Read both streams from the start (a full pipe would stall the CLI), but await them only once it has ended: awaiting
            // them earlier (the draft's assertion message did) waits for the end that only the signal brings, and hangs.
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            var exited = process.WaitForExitAsync();
            if (await Task.WhenAny(state.Holding.Task, exited, Task.Delay(Patience)) != state.Holding.Task)
                Assert.Fail($"the server did not hold the upload within {Patience} (CLI ended: {process.HasExited})");

            using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                if (!kill.WaitForExit(Patience)) Assert.Fail($"kill -{signal} did not return within {Patience}");
                Assert.Equal(0, kill.ExitCode);
            }
            if (await Task.WhenAny(exited, Task.Delay(Patience)) != exited)
                Assert.Fail($"the CLI did not end within {Patience} of SIG{signal}");
            var error = await errors.WaitAsync(Patience);
            var stdout = await output.WaitAsync(Patience);

            await AssertInterruptedAsync(upload, state, process.ExitCode, error, "stdout: " + stdout, registered: null);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// What item 5 asks of an interrupted upload: exit 130; stderr says so, names the results file and how to continue, and
    /// holds no NIK; the call ended on the server; the results file has one whole line per input row, in order, the first
    /// <paramref name="registered"/> rows (when known) REGISTERED with the server's ids and every other row NOT_DONE/INTERRUPTED.
    /// </summary>
    private static async Task AssertInterruptedAsync(StaffUpload upload, HeldUploadState state, int exitCode, string error, string more, int? registered)
    {
        var run = $"exit code {exitCode}; stderr: {error}; {more}";

        // 130 alone would also be a CLI killed by the signal (128 + SIGINT); the message and the results file below show it handled it.
        Assert.True(exitCode == ExitCodes.Interrupted, run);
        Assert.StartsWith("interrupting: keeping what is done", error, StringComparison.Ordinal);
        Assert.Contains("error: interrupted. " + upload.Results + " holds a result for every row", error, StringComparison.Ordinal);
        Assert.Contains("run the same command again to continue", error, StringComparison.Ordinal);
        Assert.All(upload.Niks, nik => Assert.DoesNotContain(nik, error, StringComparison.Ordinal));
        Assert.Equal("Bearer " + StaffUpload.Token, state.Authorization);

        // The CLI ended the call instead of leaving it open on the server.
        if (await Task.WhenAny(state.Cancelled.Task, Task.Delay(Patience)) != state.Cancelled.Task)
            Assert.Fail($"the server's call was not cancelled within {Patience} of the CLI ending; " + run);

        // Whole lines only: the file ends with a line break and each line has the header's columns, one result per row in order.
        var text = await File.ReadAllTextAsync(upload.Results);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        Assert.Equal(Rows + 1, text.Split("\r\n").Length - 1);
        var csv = CsvFile.Read(upload.Results);
        Assert.Equal(NonAsnCommands.ResultsHeader, csv.Header);
        Assert.All(csv.Records, r => Assert.Equal(csv.Header.Count, r.Fields.Count));
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => "R" + i), csv.Records.Select(r => r.Fields[1]));
        Assert.Equal(Enumerable.Range(2, Rows).Select(i => i.ToString(CultureInfo.InvariantCulture)), csv.Records.Select(r => r.Fields[0]));

        // REGISTERED rows are answered rows, from the first on (answers are taken in order), with the ids the server gave;
        // every other row is NOT_DONE, marked INTERRUPTED.
        Assert.Equal(Enumerable.Range(0, state.AnswerRows).Select(i => "R" + i), state.AnsweredRowIds);
        var taken = csv.Records.TakeWhile(r => r.Fields[2] == "REGISTERED").Count();
        Assert.True(registered is null ? taken <= state.AnswerRows : taken == registered, $"{taken} rows REGISTERED; " + run);
        foreach (var (record, i) in csv.Records.Select((r, i) => (r.Fields, i)))
        {
            if (i < taken)
            {
                Assert.Equal(["REGISTERED", "emp-" + i, "1234567890" + i, ""], record.Skip(2).Take(4));
            }
            else
            {
                Assert.Equal(["NOT_DONE", "", "", "INTERRUPTED"], record.Skip(2).Take(4));
                Assert.Contains("send the file again", record[6], StringComparison.Ordinal);
            }
        }
    }

    /// <summary>A staff list of <see cref="Rows"/> valid rows, a token file, and the command that uploads it to <paramref name="Address"/>.</summary>
    private sealed record StaffUpload(string Address, string Input, string TokenFile, string[] Niks)
    {
        public const string Token = "a-token-the-fake-server-only-records";

        public string Directory => Path.GetDirectoryName(Input)!;

        public string Results => Path.Combine(Directory, "staff.results.csv");

        /// <remarks>
        /// Through <c>env --default-signal=INT</c>: a test run started as a background job of a shell without job control
        /// (<c>nohup … &amp;</c> in a script) inherits SIGINT ignored, the CLI rightly keeps it ignored, and Ctrl+C would never
        /// reach it. A clerk's terminal delivers it, so the CLI gets it as a terminal would give it.
        /// </remarks>
        public string[] Command => ["env", "--default-signal=INT", RealBinaryTests.Dotnet, RealBinaryTests.Cli, "nonasn", "register", Input, "--address", Address, "--token-file", TokenFile];

        public static async Task<StaffUpload> WriteAsync(string address)
        {
            var input = TestData.Temp("staff.csv");
            var niks = Enumerable.Range(0, Rows).Select(_ => TestData.NewNik()).ToArray();
            await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
                [.. Enumerable.Range(0, Rows).Select(i => $"R{i};11000001;{niks[i]};Pegawai {i};1990-08-15;M;Staf;Dinas;PPNPN;{TestData.Today};;3500000")]));
            var tokenFile = Path.Combine(Path.GetDirectoryName(input)!, "member.token");
            await File.WriteAllTextAsync(tokenFile, Token);
            return new StaffUpload(address, input, tokenFile, niks);
        }

        /// <summary>Only the command line says where to connect and as whom.</summary>
        public static void CleanEnvironment(ProcessStartInfo start)
        {
            foreach (var name in new[] { "NO_COLOR", "VERIFICATION_ADDRESS", "VERIFICATION_TOKEN_FILE", "VERIFICATION_TOKEN" }) start.Environment.Remove(name);
        }
    }

    private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string ReadIfThere(string path) => File.Exists(path) ? File.ReadAllText(path) : "(none)";

    /// <summary>Everything the terminal showed so far, read as it comes, with waits for text to appear.</summary>
    private sealed class Screen
    {
        private readonly StringBuilder _text = new();
        private readonly List<(Regex Pattern, TaskCompletionSource Seen)> _waits = [];
        private readonly Lock _lock = new();

        public Screen(StreamReader output) => _ = ReadAsync(output);

        public string Text
        {
            get
            {
                lock (_lock) return _text.ToString();
            }
        }

        /// <summary>Completes once the screen has shown <paramref name="pattern"/>.</summary>
        public Task Shows(Regex pattern)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (pattern.IsMatch(_text.ToString())) seen.TrySetResult();
                else _waits.Add((pattern, seen));
            }
            return seen.Task;
        }

        private async Task ReadAsync(StreamReader output)
        {
            var buffer = new char[4096];
            int read;
            while ((read = await output.ReadAsync(buffer)) > 0)
            {
                lock (_lock)
                {
                    _text.Append(buffer, 0, read);
                    var text = _text.ToString();
                    foreach (var wait in _waits.Where(w => w.Pattern.IsMatch(text)).ToList())
                    {
                        wait.Seen.TrySetResult();
                        _waits.Remove(wait);
                    }
                }
            }
        }
    }
}
