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
public sealed partial class InterruptedUploadTests
{
    private const int Rows = 40;

    /// <summary>Bound of every wait: generous for a loaded 2-core machine, so a hang fails with a message instead.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [GeneratedRegex(@"(?<![0-9.])5 rows confirmed")]
    private static partial Regex FiveConfirmed();

    [Fact]
    public async Task CtrlCMidUploadExitsOneThirtySaysWhatWasSavedAndLeavesAResultForEveryRowAsWholeLines()
    {
        var state = new HeldUploadState();
        await using var server = await FakeServer.StartAsync(services => services.AddSingleton(state), app => app.MapGrpcService<HoldingNonAsnService>());
        var input = TestData.Temp("staff.csv");
        var work = Path.GetDirectoryName(input)!;
        var niks = Enumerable.Range(0, Rows).Select(_ => TestData.NewNik()).ToArray();
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            [.. Enumerable.Range(0, Rows).Select(i => $"R{i};11000001;{niks[i]};Pegawai {i};1990-08-15;M;Staf;Dinas;PPNPN;{TestData.Today};;3500000")]));
        var tokenFile = Path.Combine(work, "member.token");
        await File.WriteAllTextAsync(tokenFile, "a-token-the-fake-server-only-records");
        var errorFile = Path.Combine(work, "cli.stderr");

        // stdout is the terminal (a wide one, so the bar's counts are not cut); stderr goes to a file so it is read on its own.
        // The CLI replaces the shell (exec), so Ctrl+C reaches only the CLI and script exits with the CLI's exit code.
        string[] cli = [RealBinaryTests.Dotnet, RealBinaryTests.Cli, "nonasn", "register", input, "--address", server.Address, "--token-file", tokenFile];
        var shell = $"stty cols 200 rows 50; exec {string.Join(' ', cli.Select(Quote))} 2>{Quote(errorFile)}";
        var start = new ProcessStartInfo("script")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (var argument in new[] { "-qefc", shell, "/dev/null" }) start.ArgumentList.Add(argument);
        foreach (var name in new[] { "NO_COLOR", "VERIFICATION_ADDRESS", "VERIFICATION_TOKEN_FILE", "VERIFICATION_TOKEN" }) start.Environment.Remove(name);
        start.Environment["TERM"] = "xterm-256color";

        using var terminal = Process.Start(start)!;
        try
        {
            var screen = new Screen(terminal.StandardOutput);
            var scriptErrors = terminal.StandardError.ReadToEndAsync();
            var exited = terminal.WaitForExitAsync();

            // The upload is under way: the server answered 5 rows and holds the rest, and the CLI's bar shows the 5 as confirmed.
            var ready = Task.WhenAll(state.Holding.Task, screen.Shows(FiveConfirmed()));
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
            var run = $"exit code {terminal.ExitCode}; stderr: {error}; screen: {screen.Text}; script: {scriptError}";

            // 130 alone would also be a CLI killed by the signal (128 + SIGINT); the message and the results file below show it handled it.
            Assert.True(terminal.ExitCode == ExitCodes.Interrupted, run);
            var results = Path.Combine(work, "staff.results.csv");
            Assert.StartsWith("interrupting: keeping what is done", error, StringComparison.Ordinal);
            Assert.Contains("error: interrupted. " + results + " holds a result for every row", error, StringComparison.Ordinal);
            Assert.Contains("run the same command again to continue", error, StringComparison.Ordinal);
            Assert.All(niks, nik => Assert.DoesNotContain(nik, error, StringComparison.Ordinal));
            Assert.Equal("Bearer a-token-the-fake-server-only-records", state.Authorization);

            // The CLI ended the call instead of leaving it open on the server.
            if (await Task.WhenAny(state.Cancelled.Task, Task.Delay(Patience)) != state.Cancelled.Task)
                Assert.Fail($"the server's call was not cancelled within {Patience} of the CLI ending; " + run);

            // Whole lines only: the file ends with a line break and each line has the header's columns, one result per row in order.
            var text = await File.ReadAllTextAsync(results);
            Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
            Assert.Equal(Rows + 1, text.Split("\r\n").Length - 1);
            var csv = CsvFile.Read(results);
            Assert.Equal(NonAsnCommands.ResultsHeader, csv.Header);
            Assert.All(csv.Records, r => Assert.Equal(csv.Header.Count, r.Fields.Count));
            Assert.Equal(Enumerable.Range(0, Rows).Select(i => "R" + i), csv.Records.Select(r => r.Fields[1]));
            Assert.Equal(Enumerable.Range(2, Rows).Select(i => i.ToString(CultureInfo.InvariantCulture)), csv.Records.Select(r => r.Fields[0]));

            // The rows the server answered are REGISTERED with the ids it gave; every other row is NOT_DONE, marked INTERRUPTED.
            Assert.Equal(Enumerable.Range(0, state.AnswerRows).Select(i => "R" + i), state.AnsweredRowIds);
            foreach (var (record, i) in csv.Records.Select((r, i) => (r.Fields, i)))
            {
                if (i < state.AnswerRows)
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
        finally
        {
            // A failed wait must not leave the CLI holding the server (whose disposal waits for the call): end what this test started.
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
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
