namespace Verification.Domain;

/// <summary>The suite's calendar: dates are Indonesian days as the parties state them; "today", record days and months are in Jakarta (WIB).</summary>
public static class WibCalendar
{
    /// <summary>WIB is UTC+7 all year (no daylight saving since 1964), so no time-zone database is needed.</summary>
    public static readonly TimeSpan Wib = TimeSpan.FromHours(7);

    /// <summary>Today in Jakarta.</summary>
    public static DateOnly JakartaToday(this TimeProvider time) => DayOf(time.GetUtcNow());

    /// <summary>Now, to the millisecond: what SQLite keeps, so a stored instant compares equal to the one answered.</summary>
    public static DateTimeOffset RecordNow(this TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>The Jakarta day of an instant.</summary>
    public static DateOnly DayOf(DateTimeOffset instant) => DateOnly.FromDateTime(instant.ToOffset(Wib).DateTime);

    /// <summary>00:00 WIB of <paramref name="day"/>, in UTC: when something starting that day begins.</summary>
    public static DateTimeOffset StartOf(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), Wib).ToUniversalTime();

    /// <summary>24:00 WIB of <paramref name="day"/>, in UTC: when something whose last day it is ends.</summary>
    public static DateTimeOffset EndOf(DateOnly day) => StartOf(day.AddDays(1));

    /// <summary>A month as one sortable number, e.g. 202611 for November 2026.</summary>
    public static int MonthKey(int year, int month) => (year * 100) + month;

    public static int MonthKey(DateOnly day) => MonthKey(day.Year, day.Month);
}
