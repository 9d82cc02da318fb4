using System.Text;
using Spectre.Console;
using Verification.Cli.Commands;
using Verification.Cli.Output;

namespace Verification.Cli.Tests;

/// <summary>Progress bars (shown only on a terminal in human mode) and the resumable results file.</summary>
public sealed class ProgressAndResultsFileTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    [Fact]
    public void TheCounterGivesRowsRateAndErrors()
    {
        var clock = new ManualClock();
        var counter = new RowCounter(clock);
        counter.AddRows(1_200);
        counter.AddErrors(3);
        clock.Ticks = TimeSpan.FromSeconds(4).Ticks;
        Assert.Equal(300, counter.RowsPerSecond, 3);
        Assert.Equal("1.200 rows sent · 300 rows/s · 3 errors", counter.Describe("sent"));
        counter.AddErrors(-2);
        Assert.EndsWith("1 error", counter.Describe("sent"));
    }

    [Fact]
    public async Task OnATerminalTheBarShowsRowsRateAndErrors()
    {
        using var output = new StringWriter();
        var printer = new Printer(OutputFormat.Human, TestConsole.Create(output, terminal: true), TextWriter.Null);
        Assert.True(RowProgress.Enabled(printer));

        var result = await RowProgress.RunAsync(printer, "staff.csv", "sent", 10, async counter =>
        {
            for (var i = 0; i < 10; i++)
            {
                counter.AddRows();
                if (i % 4 == 0) counter.AddErrors();
                await Task.Delay(15);
            }
            return 42;
        });

        Assert.Equal(42, result);
        var shown = output.ToString();
        Assert.Contains("staff.csv", shown);
        Assert.Contains("10 rows sent", shown);
        Assert.Contains("rows/s", shown);
        Assert.Contains("3 errors", shown);
        Assert.Contains("100%", shown);
    }

    [Theory]
    [InlineData(OutputFormat.Json, true)]
    [InlineData(OutputFormat.Human, false)]
    public async Task WithJsonOrRedirectedOutputNothingIsDrawn(OutputFormat format, bool terminal)
    {
        using var output = new StringWriter();
        var printer = new Printer(format, TestConsole.Create(output, terminal), TextWriter.Null);
        Assert.False(RowProgress.Enabled(printer));
        var rows = await RowProgress.RunAsync(printer, "staff.csv", "sent", 5, counter =>
        {
            counter.AddRows(5);
            return Task.FromResult(counter.Rows);
        });
        Assert.Equal(5, rows);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void ANewResultsFileGetsItsHeaderAndStartsAtZero()
    {
        var path = TestData.Temp("results.csv");
        Assert.Equal((0L, ','), ResultsFile.Prepare(path, PrakerjaCommands.ResultsHeader));
        Assert.Equal("offset,row_id,status,invalid_nik_reason\r\n", File.ReadAllText(path));
        Assert.Equal((0L, ','), ResultsFile.Prepare(path, PrakerjaCommands.ResultsHeader));
    }

    [Fact]
    public void AnInterruptedFileResumesAfterItsLastCompleteRowAndLosesTheHalfWrittenOne()
    {
        var path = TestData.Temp("results.csv");
        File.WriteAllText(path, "offset,row_id,status,invalid_nik_reason\r\n0,r1,NOT_REGISTERED,\r\n1,r2,INVALID_NIK,WRONG_LENGTH\r\n2,r3,ACTI");
        Assert.Equal((2L, ','), ResultsFile.Prepare(path, PrakerjaCommands.ResultsHeader));
        Assert.EndsWith("WRONG_LENGTH\r\n", File.ReadAllText(path));
    }

    [Fact]
    public void AFileThatIsNotAResultsFileIsNotTouched()
    {
        var path = TestData.Temp("staff.csv");
        File.WriteAllText(path, "nik,full_name\n3374011508900001,Siti\n", Encoding.UTF8);
        Assert.Throws<UsageException>(() => ResultsFile.Prepare(path, PrakerjaCommands.ResultsHeader));
        Assert.Equal("nik,full_name\n3374011508900001,Siti\n", File.ReadAllText(path));
    }
}
