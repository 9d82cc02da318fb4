using System.CommandLine;
using Spectre.Console;
using Verification.Cli.Commands;
using Verification.Rpc;
using Verification.Rpc.Client;

namespace Verification.Cli;

/// <summary>The <c>verification</c> command tree; built with the console and error writer so tests can capture both.</summary>
public static class CliApp
{
    public static RootCommand Build(IAnsiConsole console, TextWriter error)
    {
        var root = new RootCommand("verification: verify and enrol workers in BPJS Ketenagakerjaan social security, and audit the trail.\n" + ExitCodes.Help);
        Connection.AddTo(root);
        var context = new CommandContext(console, error);
        root.Subcommands.Add(HealthCommand.Create(context));
        root.Subcommands.Add(VerifyCommand.Create(context));
        root.Subcommands.Add(KurCommands.Create(context));
        root.Subcommands.Add(AuditCommands.Create(context));
        return root;
    }
}

/// <summary>What every command action needs: where to print, and one wrapper that turns failures into words and exit codes.</summary>
public sealed class CommandContext(IAnsiConsole console, TextWriter error)
{
    public Func<ParseResult, CancellationToken, Task<int>> Run(Func<ParseResult, RpcChannel, Printer, CancellationToken, Task<int>> body) =>
        async (result, cancellationToken) =>
        {
            var printer = new Printer(result.GetValue(Connection.Output), console, error);
            try
            {
                using var channel = Connection.Open(result);
                return await body(result, channel, printer, cancellationToken);
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
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                printer.Error(ex.Message);
                return ExitCodes.Usage;
            }
        };
}

/// <summary>A command-line value that cannot be used; printed as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
