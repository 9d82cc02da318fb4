using System.Diagnostics;
using System.Globalization;
using Verification.LoadTests.Harness;

namespace Verification.LoadTests.Books;

/// <summary>Every few seconds: outbox backlog, audit lag and each process's resident memory (the soak's evidence).</summary>
public sealed class Sampler(Suite suite, LoadOptions options, RpcStats stats, TextWriter output)
{
    private readonly SuiteProbe probe = new(suite);
    private readonly List<(string Label, Dictionary<string, double?> Rss, Dictionary<string, int?> Pids)> memory = [];
    private long lastAnswers;
    private long lastEntries;
    private TimeSpan lastAt;

    public async Task RunAsync(Stopwatch clock, CancellationToken stop)
    {
        output.WriteLine("   samples:    t  answers/s  outbox pending  oldest s  audit behind  audit pending  appended/s  RSS MiB (" + string.Join(", ", suite.Hosts.Keys) + ", harness)");
        await SampleAsync(clock, "start", stop);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.SampleEvery, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await SampleAsync(clock, $"t={clock.Elapsed.TotalSeconds:0}s", stop);
        }
    }

    public async Task SampleAsync(Stopwatch clock, string label, CancellationToken cancellationToken)
    {
        var rss = suite.Hosts.Values.ToDictionary(h => h.Module, h => h.ResidentMegabytes());
        rss["harness"] = Machine.ResidentMegabytes(Environment.ProcessId);
        var pids = suite.Hosts.Values.ToDictionary(h => h.Module, h => h.Pid);
        pids["harness"] = Environment.ProcessId;
        lock (memory) memory.Add((label, rss, pids));
        var answers = stats.All.Where(s => !s.Name.Contains("with retries", StringComparison.Ordinal)).Sum(s => s.Count);
        var seconds = Math.Max(0.001, (clock.Elapsed - lastAt).TotalSeconds);
        var rate = (answers - lastAnswers) / seconds;
        (lastAnswers, lastAt) = (answers, clock.Elapsed);
        string backlog;
        try
        {
            var snapshot = await probe.TakeAsync(cancellationToken);
            var appended = (snapshot.AuditEntries - lastEntries) / seconds;
            lastEntries = snapshot.AuditEntries;
            backlog = string.Create(CultureInfo.InvariantCulture, $"{snapshot.OutboxPending,14} {snapshot.OldestPendingAge.TotalSeconds,9:0.0} {snapshot.AuditBehind,13} {snapshot.AuditPending,14} {appended,11:0}");
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            backlog = $"{"(database unavailable)",-66}";
        }
        catch (OperationCanceledException)
        {
            return;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {label,-12} {clock.Elapsed.TotalSeconds,5:0} {rate,10:0} {backlog}  {string.Join(" ", rss.Values.Select(v => v is null ? "-" : v.Value.ToString("0", CultureInfo.InvariantCulture)))}"));
    }

    public void PrintMemory(TextWriter writer)
    {
        List<(string Label, Dictionary<string, double?> Rss, Dictionary<string, int?> Pids)> samples;
        lock (memory) samples = [.. memory];
        if (samples.Count < 2) return;
        var (first, warm, last) = (samples[0], samples[Math.Min(1, samples.Count - 1)], samples[^1]);
        writer.WriteLine();
        writer.WriteLine($"== resident memory (MiB): at start, after the first sample interval (warm-up), at the end");
        foreach (var process in first.Rss.Keys)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {process,-12} {Format(first.Rss[process]),8} {Format(warm.Rss.GetValueOrDefault(process)),8} {Format(last.Rss.GetValueOrDefault(process)),8}   growth after warm-up {(warm.Pids.GetValueOrDefault(process) == last.Pids.GetValueOrDefault(process) ? Growth(warm.Rss.GetValueOrDefault(process), last.Rss.GetValueOrDefault(process)) : "n/a (restarted by the fault)")}"));
        }
    }

    private static string Format(double? value) => value is null ? "-" : value.Value.ToString("0", CultureInfo.InvariantCulture);

    private static string Growth(double? from, double? to) =>
        from is null || to is null ? "n/a (restarted or gone)" : string.Create(CultureInfo.InvariantCulture, $"{to - from:+0;-0;0} MiB ({(to - from) / from * 100:+0.0;-0.0;0.0} %)");
}
