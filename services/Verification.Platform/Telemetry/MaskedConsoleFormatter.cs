using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Verification.Platform.Telemetry;

/// <summary>A one-line console format whose message and exception text pass through <see cref="NikRedaction"/>.</summary>
public sealed class MaskedConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "verification";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception) ?? "";
        var timestamp = options.CurrentValue.TimestampFormat is { } format ? DateTimeOffset.UtcNow.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var level = logEntry.LogLevel switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            LogLevel.Critical => "crit",
            _ => "none",
        };
        var trace = System.Diagnostics.Activity.Current?.TraceId.ToString();
        var line = $"{timestamp} {level} {logEntry.Category}{(trace is null ? "" : " trace=" + trace)}: {message}";
        if (logEntry.Exception is { } exception) line += Environment.NewLine + exception;
        textWriter.WriteLine(NikRedaction.Mask(line));
    }
}
