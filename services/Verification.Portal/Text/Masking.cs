namespace Verification.Portal.Text;

/// <summary>NIKs on screen: first and last four digits only, as the audit log and the modules show them.</summary>
public static class Masking
{
    public static string Nik(string? nik) =>
        nik is { Length: 16 } ? string.Concat(nik.AsSpan(0, 4), new string('\u2022', 8), nik.AsSpan(12)) : new string('\u2022', Math.Min(nik?.Length ?? 0, 16));
}
