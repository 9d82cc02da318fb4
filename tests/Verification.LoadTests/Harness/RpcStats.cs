using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Verification.Api;

namespace Verification.LoadTests.Harness;

/// <summary>Latencies of successful calls and failures by status code, per RPC, for one run.</summary>
public sealed class RpcStats
{
    private readonly ConcurrentDictionary<string, Series> series = new(StringComparer.Ordinal);

    public Series For(string rpc) => series.GetOrAdd(rpc, static name => new Series(name));

    /// <summary>Times one call: its latency when it succeeds, its status code when it fails (the exception is rethrown).</summary>
    public async Task<T> TimeAsync<T>(string rpc, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call();
            For(rpc).Success(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (RpcException ex)
        {
            For(rpc).Failure(ex.StatusCode);
            throw;
        }
    }

    public long Failures(StatusCode code) => series.Values.Sum(s => s.FailuresOf(code));

    public void Print(TextWriter output, TimeSpan elapsed)
    {
        output.WriteLine("   rpc                                         ok      per s     p50 ms   p95 ms   p99 ms   max ms   errors");
        foreach (var s in series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var (count, p50, p95, p99, max) = s.Summary();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {s.Name,-40} {count,9} {count / elapsed.TotalSeconds,9:0.0} {p50,9:0.0} {p95,8:0.0} {p99,8:0.0} {max,8:0.0}   {s.ErrorSummary()}"));
        }
    }

    public IReadOnlyList<Series> All => [.. series.Values.OrderBy(s => s.Name, StringComparer.Ordinal)];

    public sealed class Series(string name)
    {
        private readonly List<double> latencies = new(1 << 16);
        private readonly ConcurrentDictionary<StatusCode, long> errors = new();

        public string Name { get; } = name;

        public void Success(double milliseconds)
        {
            lock (latencies) latencies.Add(milliseconds);
        }

        public void Failure(StatusCode code) => errors.AddOrUpdate(code, 1, static (_, n) => n + 1);

        public long FailuresOf(StatusCode code) => errors.GetValueOrDefault(code);

        public long Count
        {
            get
            {
                lock (latencies) return latencies.Count;
            }
        }

        public (long Count, double P50, double P95, double P99, double Max) Summary()
        {
            double[] sorted;
            lock (latencies) sorted = [.. latencies];
            Array.Sort(sorted);
            double At(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];
            return (sorted.Length, At(0.50), At(0.95), At(0.99), sorted.Length == 0 ? double.NaN : sorted[^1]);
        }

        public string ErrorSummary() => errors.IsEmpty ? "-" : string.Join(", ", errors.OrderBy(e => e.Key).Select(e => $"{e.Key} {e.Value}"));
    }
}
