namespace Verification.Membership.Features;

/// <summary>The registry's calendar: days are Indonesian days as the parties state them, "today" is today in Jakarta (WIB).</summary>
public static class RegistryClock
{
    /// <summary>WIB is UTC+7 all year (no daylight saving since 1964), so no time-zone database is needed.</summary>
    public static readonly TimeSpan Wib = TimeSpan.FromHours(7);

    public static DateOnly Today(this TimeProvider time) => DateOnly.FromDateTime(time.GetUtcNow().ToOffset(Wib).DateTime);

    /// <summary>00:00 WIB of <paramref name="day"/>, in UTC: when a coverage starting that day begins.</summary>
    public static DateTimeOffset StartOf(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), Wib).ToUniversalTime();

    /// <summary>24:00 WIB of <paramref name="day"/>, in UTC: when a coverage whose last day it is ends.</summary>
    public static DateTimeOffset EndOf(DateOnly day) => StartOf(day.AddDays(1));
}
