using System.Diagnostics;
using Grpc.Core;
using Verification.Api;

namespace Verification.LoadTests.Harness;

/// <summary>
/// How a bank (or any partner) calls: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED are retried with the
/// same request (idempotent), after the server's RetryInfo delay or an exponential backoff, until an answer comes or
/// <see cref="GiveUpAfter"/> passes; anything else is the caller's answer.
/// </summary>
public sealed class BankCalls(RpcStats stats)
{
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(3);

    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    private long retries;

    public long Retries => Interlocked.Read(ref retries);

    public static bool IsTransient(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted;

    /// <summary>Calls until answered; each attempt is timed under <paramref name="rpc"/>, the whole under "<paramref name="rpc"/> (with retries)".</summary>
    /// <exception cref="RpcException">A status that is not transient, or a transient one for longer than <see cref="GiveUpAfter"/>.</exception>
    public async Task<T> CallAsync<T>(string rpc, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var n = 1; ; n++)
        {
            try
            {
                var answer = await stats.TimeAsync(rpc, () => attempt(cancellationToken));
                if (n > 1) stats.For(rpc + " (with retries)").Success(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return answer;
            }
            catch (RpcException ex) when (IsTransient(ex.StatusCode) && Stopwatch.GetElapsedTime(started) < GiveUpAfter && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref retries);
                var hinted = ex.GetDetail<Google.Rpc.RetryInfo>()?.RetryDelay?.ToTimeSpan();
                var backoff = TimeSpan.FromMilliseconds(Random.Shared.Next(50, 100) * Math.Pow(2, Math.Min(n - 1, 5)));
                var delay = hinted is { } h && h > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(h.Ticks, TimeSpan.FromSeconds(2).Ticks)) : backoff;
                await Task.Delay(TimeSpan.FromTicks(Math.Min(delay.Ticks, TimeSpan.FromSeconds(2).Ticks)), cancellationToken);
            }
        }
    }
}
