using System.CommandLine;
using Grpc.Core;
using Spectre.Console;
using Verification.Api.Channels;
using Verification.Cli.Commands;

namespace Verification.Cli;

/// <summary>The <c>verification</c> command tree; built with the console, error writer and environment so tests can supply all three.</summary>
public static class CliApp
{
    public static RootCommand Build(IAnsiConsole console, TextWriter error, Func<string, string?>? environment = null)
    {
        var root = new RootCommand("verification: verify and enrol workers in BPJS Ketenagakerjaan social security, and audit the trail.\n"
            + "Dates: " + Values.DateHelp + ". " + ExitCodes.Help);
        Connection.AddTo(root);
        var context = new CommandContext(console, error, environment ?? Environment.GetEnvironmentVariable);
        root.Subcommands.Add(HealthCommand.Create(context));
        root.Subcommands.Add(WhoAmICommand.Create(context));
        root.Subcommands.Add(VerifyCommand.Create(context));
        root.Subcommands.Add(KurCommands.Create(context));
        root.Subcommands.Add(NonAsnCommands.Create(context));
        root.Subcommands.Add(PrakerjaCommands.Create(context));
        root.Subcommands.Add(RentanCommands.Create(context));
        root.Subcommands.Add(AuditCommands.Create(context));
        return root;
    }

    /// <summary>
    /// Parses and runs. A command line that does not parse is exit code 2 (usage), as documented, not the library's 1.
    /// <paramref name="cancellationToken"/> is Ctrl+C: the program owns the signal (not System.CommandLine, which would end
    /// the process after a timeout, possibly mid-write), so a command always finishes writing whole lines and says what it kept.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, Func<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        var parsed = Build(console, error, environment).Parse(args);
        var configuration = new InvocationConfiguration { Output = console.Profile.Out.Writer, Error = error, ProcessTerminationTimeout = null };
        if (parsed.Errors.Count > 0)
        {
            var secrets = SecretsTyped(args);
            string Hidden(string text) => secrets.Aggregate(text, (hidden, secret) => hidden.Replace(secret, "(hidden)", StringComparison.Ordinal));
            var details = new List<string>();
            if (secrets.Count > 0) details.Add("Credentials are read from --token-file, VERIFICATION_TOKEN_FILE or VERIFICATION_TOKEN, never from the command line (it stays in shell history).");
            details.Add("Run with --help for usage.");
            var printer = new Printer(JsonRequested(args) ? OutputFormat.Json : OutputFormat.Human, console, error);
            return printer.Fail(ExitCodes.Usage, string.Join(" ", parsed.Errors.Select(e => Hidden(e.Message))), details);
        }
        return await parsed.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>--output json (or -o json) among arguments that did not parse: errors are still JSON for the script that asked.</summary>
    private static bool JsonRequested(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--output=json" or "-o=json" or "-o:json" or "--output:json") return true;
            if (args[i] is "--output" or "-o" && i + 1 < args.Length && args[i + 1].Equals("json", StringComparison.OrdinalIgnoreCase)) return true;
        }

        return false;
    }

    /// <summary>Values someone typed after an option that looks like a credential, so an error message does not echo them.</summary>
    private static List<string> SecretsTyped(string[] args)
    {
        static bool Secret(string arg) => arg.StartsWith("--", StringComparison.Ordinal) && arg != Connection.TokenFile.Name
            && (arg.Contains("token", StringComparison.OrdinalIgnoreCase) || arg.Contains("password", StringComparison.OrdinalIgnoreCase) || arg.Contains("secret", StringComparison.OrdinalIgnoreCase));
        var secrets = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], i + 1 < args.Length ? args[i + 1] : null);
            if (Secret(name) && !string.IsNullOrEmpty(value)) secrets.Add(value);
        }
        return secrets;
    }
}

/// <summary>
/// What every command action needs: where to print, the environment, and one wrapper that turns failures into words
/// and exit codes (<see cref="ExitCodes"/>). A new command file uses it as the others do:
/// <c>command.SetAction(context.Run(async (result, channel, printer, cancellationToken) => { …; return ExitCodes.Ok; }))</c>,
/// printing through <paramref name="console"/>'s <see cref="Printer"/> and throwing <see cref="CommandFailure"/>s.
/// </summary>
public sealed class CommandContext(IAnsiConsole console, TextWriter error, Func<string, string?> environment)
{
    public Func<string, string?> Environment => environment;

    public string AddressOf(ParseResult result) => Connection.AddressOf(result, environment);

    public Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, VerificationChannel, Printer, CancellationToken, Task<int>> body) =>
        async (result, cancellationToken) =>
        {
            var printer = new Printer(result.GetValue(Connection.Output), console, error);
            try
            {
                using var channel = Connection.Open(result, environment);
                return await body(result, channel, printer, cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return printer.Interrupted();
            }
            catch (CommandFailure failure)
            {
                return printer.Fail(failure);
            }
            catch (RpcException ex)
            {
                return printer.Failure(ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return printer.Fail(ExitCodes.Usage, ex.Message);
            }
            catch (Exception ex)
            {
                return printer.Fail(ExitCodes.Error, $"unexpected failure ({ex.GetType().Name}): {ex.Message}");
            }
        };
}
