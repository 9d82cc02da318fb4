using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Verification.Api.Audit.V1;
using Verification.Contracts.Events;
using Verification.Host;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Channels;

namespace Verification.Cli.Tests;

/// <summary>The monolithic host with every module, in process on a free port, and the CLI run against it.</summary>
public sealed class SuiteHost : IAsyncLifetime
{
    /// <summary>A signed tree head after every append, so audit tests need not wait seconds.</summary>
    private static readonly string[] FastAudit =
    [
        "--Verification:Audit:TreeHeadEntries=1",
        "--Verification:Audit:TreeHeadInterval=00:00:00.100",
        "--Verification:Audit:PollInterval=00:00:00.050",
    ];

    private WebApplication? _app;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "verification-cli-tests-" + Guid.NewGuid().ToString("N"));

    public string Address { get; private set; } = "";

    public string PublicKeyFile => Path.Combine(DataDirectory, "audit", "tree-head-signing-key.pub.pem");

    public string SigningKeyFile => Path.Combine(DataDirectory, "audit", "tree-head-signing-key.pem");

    public string AuditDatabase => Path.Combine(DataDirectory, "audit.db");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The host is stopped.");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        await StartAsync();
    }

    /// <summary>Starts (or restarts, over the same data and port-free) the host.</summary>
    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--Verification:Listen:Port=0", "--Verification:Listen:RestPort=", $"--Verification:Database:DataDirectory={DataDirectory}", .. FastAudit]);
        builder.AddVerificationHost(ModuleCatalog.All);
        _app = builder.Build();
        _app.MapVerificationHost(ModuleCatalog.All);
        await _app.StartAsync();
        Address = $"http://127.0.0.1:{new Uri(_app.Urls.First()).Port}";
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public string TokenFile(string member) => Path.Combine(DataDirectory, "dev-credentials", member + ".token");

    public string Token(string member) => File.ReadAllText(TokenFile(member)).Trim();

    /// <summary>Runs <c>verification args…</c> in process as <paramref name="member"/> (via --token-file); returns the exit code and what it printed.</summary>
    public Task<CliRun> RunAsync(string? member, params string[] args) =>
        RunAsync(member is null ? [] : ["--token-file", TokenFile(member)], new Dictionary<string, string>(), args, CancellationToken.None);

    /// <summary>Runs with extra arguments, an environment of its own (nothing leaks in from the test process) and a cancellation token.</summary>
    public async Task<CliRun> RunAsync(string[] credentials, IReadOnlyDictionary<string, string> environment, string[] args, CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = TestConsole.Create(output, terminal: false);
        var all = new List<string>(args);
        if (!all.Contains("--address") && !environment.ContainsKey("VERIFICATION_ADDRESS")) all.AddRange(["--address", Address]);
        all.AddRange(credentials);
        var exit = await CliApp.RunAsync(all.ToArray(), console, error, name => environment.GetValueOrDefault(name), cancellationToken);
        return new CliRun(exit, output.ToString(), error.ToString());
    }

    public VerificationChannel Channel(string member) => new(Address, new ChannelSettings { BearerToken = Token(member) });

    public async Task PublishAsync(IIntegrationEvent integrationEvent) =>
        await Services.GetRequiredService<IBus>().Publish(integrationEvent, integrationEvent.GetType());

    /// <summary>Waits until a signed tree head covers every entry appended so far (and at least <paramref name="minimum"/>).</summary>
    public async Task<SignedTreeHead> WaitForSignedLogAsync(long minimum = 1)
    {
        using var channel = Channel("auditor-bpk");
        var auditor = new AuditService.AuditServiceClient(channel);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var head = (await auditor.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead;
            var all = (await auditor.GetEntriesAsync(new GetEntriesRequest { FromIndex = Math.Max(0, head.TreeSize), Count = 1 })).Entries;
            if (head.TreeSize >= minimum && all.Count == 0) return head;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no signed tree head covering {minimum} entries");
    }

    /// <summary>Waits until Trace finds an entry matching <paramref name="request"/>.</summary>
    public async Task<AuditEntry> WaitForEntryAsync(TraceRequest request, Func<AuditEntry, bool> match)
    {
        using var channel = Channel("auditor-bpk");
        var auditor = new AuditService.AuditServiceClient(channel);
        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var call = auditor.Trace(request.Clone());
            while (await call.ResponseStream.MoveNext())
                if (match(call.ResponseStream.Current.Entry)) return call.ResponseStream.Current.Entry;
            await Task.Delay(50);
        }
        throw new TimeoutException("no such audit entry");
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold a file a moment longer; the temp folder is the OS's to clean.
        }
    }
}

/// <summary>What one run of the CLI gave.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Consoles for tests: no colour, wide, and a terminal or not (progress bars show only on a terminal).</summary>
public static class TestConsole
{
    public static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new Output(writer, terminal),
            Ansi = terminal ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        console.Profile.Width = 220;
        return console;
    }

    private sealed class Output(TextWriter writer, bool terminal) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;

        public bool IsTerminal => terminal;

        public int Width => 220;

        public int Height => 50;

        public void SetEncoding(System.Text.Encoding encoding) { }
    }
}
