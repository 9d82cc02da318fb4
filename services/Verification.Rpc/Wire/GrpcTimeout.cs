using System.Globalization;

namespace Verification.Rpc.Wire;

/// <summary><c>grpc-timeout</c>: at most 8 ASCII digits followed by one unit of H, M, S, m, u or n.</summary>
public static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    public static bool TryParse(ReadOnlySpan<char> text, out TimeSpan timeout)
    {
        timeout = default;
        if (text.Length < 2 || text.Length > 9) return false;
        var digits = text[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9') return false;
        }
        var value = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        // Ticks are 100 ns; hours of 99,999,999 still fit in a TimeSpan (about 11,400 years).
        long ticks;
        switch (text[^1])
        {
            case 'H': ticks = value * TimeSpan.TicksPerHour; break;
            case 'M': ticks = value * TimeSpan.TicksPerMinute; break;
            case 'S': ticks = value * TimeSpan.TicksPerSecond; break;
            case 'm': ticks = value * TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = value * 10; break;
            case 'n': ticks = (value + 99) / 100; break;
            default: return false;
        }
        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Formats with the finest unit whose value fits in 8 digits, rounding up so the peer never sees a longer deadline than ours is short.</summary>
    public static string Format(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero) return "1n";
        var ticks = timeout.Ticks;
        if (ticks <= MaxValue / 100) return (ticks * 100).ToString(CultureInfo.InvariantCulture) + "n";
        var micros = CeilDiv(ticks, 10);
        if (micros <= MaxValue) return micros.ToString(CultureInfo.InvariantCulture) + "u";
        var millis = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxValue) return millis.ToString(CultureInfo.InvariantCulture) + "m";
        var seconds = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxValue) return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        var minutes = CeilDiv(ticks, TimeSpan.TicksPerMinute);
        if (minutes <= MaxValue) return minutes.ToString(CultureInfo.InvariantCulture) + "M";
        return Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxValue).ToString(CultureInfo.InvariantCulture) + "H";
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
