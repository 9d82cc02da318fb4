using Spectre.Console;

namespace Verification.Cli.Output;

/// <summary>
/// The console for stdout: colours, progress bars and the terminal's width only on a terminal; plain, unwrapped text
/// when piped or redirected; no colour when NO_COLOR is set (https://no-color.org).
/// </summary>
public static class Terminal
{
    /// <summary>Wide enough that no table row wraps in a file or a pipe.</summary>
    public const int UnwrappedWidth = 4096;

    public static IAnsiConsole Create(Func<string, string?> environment, TextWriter output, bool redirected)
    {
        var noColor = environment("NO_COLOR") is { Length: > 0 };
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected || noColor ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(output),
        });
        if (redirected) console.Profile.Width = UnwrappedWidth;
        return console;
    }
}
