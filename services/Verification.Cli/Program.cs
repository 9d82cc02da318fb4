using Spectre.Console;
using Verification.Cli;

return await CliApp.Build(AnsiConsole.Console, Console.Error).Parse(args).InvokeAsync();
