using Microsoft.AspNetCore.Builder;
using Spectre.Console;
using Verification.Cli;
using Verification.Host;
using Verification.Platform.Hosting;

namespace Verification.Cli.Tests;

/// <summary>The monolithic host with every module, in process on a free port, and the CLI run against it.</summary>
public sealed class SuiteHost : IAsyncLifetime
{
    private WebApplication _app = null!;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "verification-cli-tests-" + Guid.NewGuid().ToString("N"));

    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--Verification:Listen:Port=0", $"--Verification:Database:DataDirectory={DataDirectory}"]);
        builder.AddVerificationHost(ModuleCatalog.All);
        _app = builder.Build();
        _app.MapVerificationHost(ModuleCatalog.All);
        await _app.StartAsync();
        Address = $"http://127.0.0.1:{new Uri(_app.Urls.First()).Port}";
    }

    public string TokenFile(string member) => Path.Combine(DataDirectory, "dev-credentials", member + ".token");

    /// <summary>Runs <c>verification args…</c> in process; returns the exit code and what it printed.</summary>
    public async Task<(int ExitCode, string Output, string Error)> RunAsync(string? member, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        var all = new List<string>(args);
        if (!all.Contains("--address")) all.AddRange(["--address", Address]);
        if (member is not null) all.AddRange(["--token-file", TokenFile(member)]);
        var exit = await CliApp.Build(console, error).Parse(all.ToArray()).InvokeAsync();
        return (exit, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
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
