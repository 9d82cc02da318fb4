using System.CommandLine;
using Spectre.Console;
using Verification.Cli.Commands;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Channels;

namespace Verification.Cli;

/// <summary>The <c>verification</c> command tree; built with the console, error writer and environment so tests can supply all three.</summary>
public static class CliApp
{
    public static RootCommand Build(IAnsiConsole console, TextWriter error, Func<string, string?>? environment = null)
    {
        var root = new RootCommand("verification: verify and enrol workers in BPJS Ketenagakerjaan social security, and audit the trail.\n" + ExitCodes.Help);
        Connection.AddTo(root);
        var context = new CommandContext(console, error, environment ?? Environment.GetEnvironmentVariable);
        root.Subcommands.Add(HealthCommand.Create(context));
        root.Subcommands.Add(VerifyCommand.Create(context));
        root.Subcommands.Add(KurCommands.Create(context));
        root.Subcommands.Add(NonAsnCommands.Create(context));
        root.Subcommands.Add(PrakerjaCommands.Create(context));
        root.Subcommands.Add(RentanCommands.Create(context));
        root.Subcommands.Add(AuditCommands.Create(context));
        return root;
    }

    /// <summary>Parses and runs; a command line that does not parse is exit code 2 (usage), as documented, not the library's 1.</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, Func<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        var parsed = Build(console, error, environment).Parse(args);
        var configuration = new InvocationConfiguration { Output = console.Profile.Out.Writer, Error = error };
        if (parsed.Errors.Count > 0)
        {
            var secrets = SecretsTyped(args);
            foreach (var problem in parsed.Errors) error.WriteLine("error: " + secrets.Aggregate(problem.Message, (text, secret) => text.Replace(secret, "(hidden)", StringComparison.Ordinal)));
            if (secrets.Count > 0) error.WriteLine("Credentials are read from --token-file, VERIFICATION_TOKEN_FILE or VERIFICATION_TOKEN, never from the command line (it stays in shell history).");
            error.WriteLine("Run with --help for usage.");
            return ExitCodes.Usage;
        }
        return await parsed.InvokeAsync(configuration, cancellationToken);
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

/// <summary>What every command action needs: where to print, the environment, and one wrapper that turns failures into words and exit codes.</summary>
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
            catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
            {
                _ = ex;
                printer.Error("interrupted; what was done so far is kept (run the same command again to continue).");
                return ExitCodes.Interrupted;
            }
            catch (RpcException ex)
            {
                return printer.Failure(ex);
            }
            catch (UsageException ex)
            {
                printer.Error(ex.Message);
                return ExitCodes.Usage;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                printer.Error("interrupted; what was done so far is kept (run the same command again to continue).");
                return ExitCodes.Interrupted;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                printer.Error(ex.Message);
                return ExitCodes.Usage;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                printer.Error($"unexpected failure ({ex.GetType().Name}): {ex.Message}");
                return ExitCodes.Error;
            }
        };
}

/// <summary>A command-line value that cannot be used; printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
