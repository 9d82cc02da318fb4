using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Verification.Platform.Telemetry;

namespace Verification.Platform.Tests;

public class NikRedactionTests
{
    [Theory]
    [InlineData("verify 3374014501900001 failed", "verify 3374••••••••0001 failed")]
    [InlineData("3374014501900001", "3374••••••••0001")]
    [InlineData("a=3374014501900001,b=5171046607850002", "a=3374••••••••0001,b=5171••••••••0002")]
    public void SixteenDigitRunsAreMasked(string text, string expected) => Assert.Equal(expected, NikRedaction.Mask(text));

    [Theory]
    [InlineData("loan 123456789012345")]
    [InlineData("account 12345678901234567")]
    [InlineData("participant 12345678901")]
    [InlineData("no digits here")]
    public void OtherNumbersAreLeftAlone(string text) => Assert.Equal(text, NikRedaction.Mask(text));

    [Fact]
    public void TheConsoleFormatterMasksMessagesAndExceptions()
    {
        var formatter = new MaskedConsoleFormatter(new StaticOptions(new ConsoleFormatterOptions()));
        using var writer = new StringWriter();
        var exception = new InvalidOperationException("lookup of 3374014501900001 failed");
        var entry = new LogEntry<string>(LogLevel.Warning, "test", new EventId(1), "enrol 3374014501900001", exception, (state, _) => state);
        formatter.Write(in entry, null, writer);
        var output = writer.ToString();
        Assert.DoesNotContain("3374014501900001", output);
        Assert.Contains("enrol 3374••••••••0001", output);
        Assert.Contains("lookup of 3374••••••••0001 failed", output);
    }

    private sealed class StaticOptions(ConsoleFormatterOptions value) : IOptionsMonitor<ConsoleFormatterOptions>
    {
        public ConsoleFormatterOptions CurrentValue => value;

        public ConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<ConsoleFormatterOptions, string?> listener) => null;
    }
}
