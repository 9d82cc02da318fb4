using Spectre.Console;
using Verification.Cli;

return await CliApp.RunAsync(args, AnsiConsole.Console, Console.Error);
