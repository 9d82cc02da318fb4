namespace Verification.Portal.Tests;

/// <summary>Structurally valid NIKs (Semarang, born 15 August 1990, male), none handed out twice in this process.</summary>
public static class Nik
{
    private static int _next = Random.Shared.Next(0, 500_000);

    public static string New()
    {
        var n = Interlocked.Increment(ref _next);
        return $"3374{1 + (n / 9999 % 99):00}150890{1 + (n % 9999):0000}";
    }

    public static string Masked(string nik) => nik[..4] + new string('\u2022', 8) + nik[12..];

    public static DateOnly JakartaToday => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));

    public static readonly string[] IndonesianMonths = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"];
}
