using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;

namespace Verification.Platform.Access;

/// <summary>
/// Token buckets keyed by who is calling (a member code, or a client address before authentication). A refusal says
/// exactly when enough tokens will be there, so RetryInfo carries the real wait instead of a guess.
/// </summary>
public sealed class AdmissionBuckets(TimeProvider time)
{
    /// <summary>Above this many buckets, idle full ones are dropped: a full bucket is the same as no bucket.</summary>
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="cost"/> tokens; null when taken, otherwise the time until they will be there (nothing taken).</summary>
    public TimeSpan? TryTake(string key, double cost, double ratePerSecond, double burst)
    {
        if (_buckets.Count > PruneAbove) Prune();
        // A cost above the burst could never be paid at once: it waits for a full bucket and takes all of it.
        cost = Math.Min(cost, burst);
        var bucket = _buckets.GetOrAdd(key, _ => new Bucket(burst, time.GetTimestamp()));
        lock (bucket)
        {
            var now = time.GetTimestamp();
            bucket.Tokens = Math.Min(burst, bucket.Tokens + time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * ratePerSecond);
            bucket.Stamp = now;
            bucket.Burst = burst;
            bucket.Rate = ratePerSecond;
            if (bucket.Tokens >= cost)
            {
                bucket.Tokens -= cost;
                return null;
            }
            return TimeSpan.FromSeconds((cost - bucket.Tokens) / ratePerSecond);
        }
    }

    /// <summary>The partition of an unauthenticated caller: its IPv4 address, or the /64 of an IPv6 one (a host gets a whole /64).</summary>
    public static string AddressKey(ServerCallContext context)
    {
        var address = context.GetHttpContext().Connection.RemoteIpAddress;
        if (address is null) return "address:unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            address = new IPAddress(bytes);
        }
        return "address:" + address;
    }

    private void Prune()
    {
        var now = time.GetTimestamp();
        foreach (var (key, bucket) in _buckets)
        {
            lock (bucket)
            {
                if (bucket.Tokens + time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * bucket.Rate >= bucket.Burst) _buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens = tokens;
        public long Stamp = stamp;
        public double Burst = tokens;
        public double Rate = 1;
    }
}
