using Spectre.Console;
using Spectre.Console.Rendering;

namespace Verification.Cli.Output;

/// <summary>Rows done and rows failed so far, and the rate, for progress bars and the closing totals.</summary>
public sealed class RowCounter(TimeProvider clock)
{
    private readonly long _start = clock.GetTimestamp();
    private long _rows;
    private long _errors;

    public RowCounter() : this(TimeProvider.System) { }

    public long Rows => Interlocked.Read(ref _rows);

    public long Errors => Interlocked.Read(ref _errors);

    public TimeSpan Elapsed => clock.GetElapsedTime(_start);

    public double RowsPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : Rows / Elapsed.TotalSeconds;

    public void AddRows(long count = 1) => Interlocked.Add(ref _rows, count);

    public void AddErrors(long count = 1) => Interlocked.Add(ref _errors, count);

    /// <summary>E.g. "1,200 rows sent · 350 rows/s · 3 errors".</summary>
    public string Describe(string verb) =>
        $"{Rows:N0} rows {verb} · {RowsPerSecond:N0} rows/s · {Errors:N0} error{(Errors == 1 ? "" : "s")}";
}

/// <summary>
/// A Spectre.Console progress bar over a <see cref="RowCounter"/>: shown only on a terminal in human mode, so
/// redirected output and <c>--output json</c> stay clean for scripts.
/// </summary>
public static class RowProgress
{
    public static bool Enabled(Printer printer) =>
        !printer.Json && printer.Console.Profile.Out.IsTerminal && printer.Console.Profile.Capabilities.Interactive && printer.Console.Profile.Capabilities.Ansi;

    /// <summary>Runs <paramref name="work"/> with a counter; <paramref name="total"/> rows when known (else the bar is indeterminate).</summary>
    public static async Task<T> RunAsync<T>(Printer printer, string title, string verb, long? total, Func<RowCounter, Task<T>> work)
    {
        var counter = new RowCounter();
        if (!Enabled(printer)) return await work(counter);
        var result = default(T)!;
        await printer.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new CountsColumn(counter, verb), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total ?? 1));
                task.IsIndeterminate = total is null;
                using var ticker = new Timer(_ => task.Value = Math.Min(task.MaxValue, counter.Rows), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
                result = await work(counter);
                task.Value = task.MaxValue;
                task.StopTask();
            });
        return result;
    }

    private sealed class CountsColumn(RowCounter counter, string verb) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup(counter.Errors > 0 ? $"[yellow]{Markup.Escape(counter.Describe(verb))}[/]" : Markup.Escape(counter.Describe(verb)));
    }
}
