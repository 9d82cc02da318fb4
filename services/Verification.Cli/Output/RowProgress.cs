using Spectre.Console;
using Spectre.Console.Rendering;
using Verification.Cli.Commands;

namespace Verification.Cli.Output;

/// <summary>
/// Rows done and rows failed so far, and the rate over the last few seconds, for progress bars and the closing totals.
/// Commands count what the server has confirmed (a row's result received), not what was handed to the network, so the
/// bar reaches 100 % when the work is done and a stall shows as a falling rate.
/// </summary>
public sealed class RowCounter
{
    /// <summary>The rate is over this much recent time: long enough to be steady, short enough to show a stall.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _clock;
    private readonly Queue<(long Timestamp, long Rows)> _samples = new();
    private readonly Lock _sampling = new();
    private long _rows;
    private long _errors;

    public RowCounter(TimeProvider clock)
    {
        _clock = clock;
        _samples.Enqueue((clock.GetTimestamp(), 0));
    }

    public RowCounter() : this(TimeProvider.System) { }

    public long Rows => Interlocked.Read(ref _rows);

    public long Errors => Interlocked.Read(ref _errors);

    public void AddRows(long count = 1) => Interlocked.Add(ref _rows, count);

    public void AddErrors(long count = 1) => Interlocked.Add(ref _errors, count);

    /// <summary>Rows per second over the last <see cref="Window"/> (since the start, while it is younger).</summary>
    public double RowsPerSecond
    {
        get
        {
            lock (_sampling)
            {
                var now = _clock.GetTimestamp();
                var rows = Rows;
                _samples.Enqueue((now, rows));
                // Keep one sample at or before the window's start as the base of the rate.
                while (_samples.Count > 2 && _clock.GetElapsedTime(_samples.ElementAt(1).Timestamp, now) >= Window) _samples.Dequeue();
                var (since, before) = _samples.Peek();
                var seconds = _clock.GetElapsedTime(since, now).TotalSeconds;
                return seconds <= 0 ? 0 : (rows - before) / seconds;
            }
        }
    }

    /// <summary>E.g. "1.200 rows confirmed · 350 rows/s · 3 errors".</summary>
    public string Describe(string verb)
    {
        var rate = RowsPerSecond;
        return $"{Values.Number(Rows)} rows {verb} · {Values.Number((long)Math.Round(rate))} rows/s · {Values.Number(Errors)} error{(Errors == 1 ? "" : "s")}";
    }
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
                try
                {
                    result = await work(counter);
                }
                finally
                {
                    // The bar ends where the work ended: full only if every row was confirmed.
                    task.Value = Math.Min(task.MaxValue, counter.Rows);
                    task.StopTask();
                }
            });
        return result;
    }

    private sealed class CountsColumn(RowCounter counter, string verb) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Markup(counter.Errors > 0 ? $"[yellow]{Markup.Escape(counter.Describe(verb))}[/]" : Markup.Escape(counter.Describe(verb)));
    }
}
