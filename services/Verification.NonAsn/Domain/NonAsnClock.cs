namespace Verification.NonAsn.Domain;

/// <summary>NonAsn's calendar: contract dates are Indonesian days, and "today" is today in Jakarta (WIB).</summary>
public static class NonAsnClock
{
    /// <summary>WIB is UTC+7 all year (no daylight saving since 1964), so no time-zone database is needed.</summary>
    public static readonly TimeSpan Wib = TimeSpan.FromHours(7);

    public static DateOnly JakartaToday(this TimeProvider time) => DateOnly.FromDateTime(time.GetUtcNow().ToOffset(Wib).DateTime);

    /// <summary>Now, to the millisecond: what SQLite keeps, so a stored instant compares equal to the one written (concurrency token).</summary>
    public static DateTimeOffset RecordNow(this TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>00:00 WIB of <paramref name="day"/>, in UTC: when employment (and its coverage) starting that day begins.</summary>
    public static DateTimeOffset StartOf(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), Wib).ToUniversalTime();

    /// <summary>24:00 WIB of <paramref name="day"/>, in UTC: when employment whose last day it is ends.</summary>
    public static DateTimeOffset EndOf(DateOnly day) => StartOf(day.AddDays(1));
}
