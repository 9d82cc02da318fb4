using System.Globalization;
using Verification.Api.Common.V1;

namespace Verification.Cli.Commands;

/// <summary>
/// The values clerks type and read: dates as YYYY-MM-DD or DD/MM/YYYY (as in their spreadsheets), months as YYYY-MM or
/// MM/YYYY, programs as JKK,JKM; rupiah and counts in Indonesian form (Rp41.800, 1.234.567) for people, never in JSON.
/// </summary>
public static class Values
{
    /// <summary>The date forms accepted everywhere: on the command line and in CSV files.</summary>
    public static readonly string[] DateFormats = ["yyyy-MM-dd", "dd/MM/yyyy", "d/M/yyyy"];

    public const string DateHelp = "YYYY-MM-DD or DD/MM/YYYY";

    public static bool TryDate(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text?.Trim(), DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    public static Date Date(string? text, string option)
    {
        if (!TryDate(text, out var date))
            throw new UsageException($"{option}: expected a date as {DateHelp}, got '{text}'");
        return ToApi(date);
    }

    public static Date ToApi(DateOnly date) => new() { Year = date.Year, Month = date.Month, Day = date.Day };

    public static YearMonth Month(string? text, string option)
    {
        if (!DateOnly.TryParseExact(text?.Trim(), ["yyyy-MM", "MM/yyyy", "M/yyyy"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            throw new UsageException($"{option}: expected a month as YYYY-MM or MM/YYYY, got '{text}'");
        return new YearMonth { Year = date.Year, Month = date.Month };
    }

    public static Sex Sex(string? text, string option) => text?.ToUpperInvariant() switch
    {
        "M" or "MALE" or "L" or "LAKI-LAKI" => Api.Common.V1.Sex.Male,
        "F" or "FEMALE" or "P" or "PEREMPUAN" => Api.Common.V1.Sex.Female,
        _ => throw new UsageException($"{option}: expected M or F (L or P), got '{text}'"),
    };

    public static string Format(Date? date) => date is null || date.Year == 0 ? "" : $"{date.Year:D4}-{date.Month:D2}-{date.Day:D2}";

    public static string Format(YearMonth? month) => month is null || month.Year == 0 ? "" : $"{month.Year:D4}-{month.Month:D2}";

    public static string Format(IEnumerable<Api.Common.V1.Program> programs) => string.Join(",", programs.Select(p => p.ToString().ToUpperInvariant()));

    /// <summary>Whole rupiah as Indonesians write it: Rp41.800, -Rp1.250.000.</summary>
    public static string Rupiah(long amount) => (amount < 0 ? "-Rp" : "Rp") + Number(Math.Abs(amount));

    /// <summary>A count with '.' between thousands: 1.234.567.</summary>
    public static string Number(long value) =>
        value.ToString("#,0", CultureInfo.InvariantCulture).Replace(',', '.');

    /// <summary>Seconds with a decimal comma, as Indonesian readers expect: 2,5.</summary>
    public static string Seconds(TimeSpan duration) => duration.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture).Replace('.', ',');

    /// <summary>Enum values in the proto's own spelling, e.g. KurScheme.SuperMikro → SUPER_MIKRO.</summary>
    public static string Name<T>(T value) where T : struct, Enum =>
        string.Concat(value.ToString()!.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    public static T Parse<T>(string? text, string option) where T : struct, Enum
    {
        var wanted = (text ?? "").Trim().Replace("-", "_", StringComparison.Ordinal).Replace(' ', '_').ToUpperInvariant();
        foreach (var value in Enum.GetValues<T>())
        {
            if (Name(value) == wanted && Convert.ToInt32(value, CultureInfo.InvariantCulture) != 0) return value;
        }
        var choices = Enum.GetValues<T>().Where(v => Convert.ToInt32(v, CultureInfo.InvariantCulture) != 0).Select(Name);
        throw new UsageException($"{option}: expected one of {string.Join(", ", choices)}, got '{text}'");
    }

    /// <summary>The NIK warnings the registry recorded, in words, e.g. for a results file or an enrolment's output.</summary>
    public static string Warnings(IEnumerable<Api.Membership.V1.NikWarning> warnings) =>
        string.Join("; ", warnings.Where(w => w != Api.Membership.V1.NikWarning.Unspecified).Select(w => w switch
        {
            Api.Membership.V1.NikWarning.BirthDateMismatch => "NIK_BIRTH_DATE_MISMATCH: the birth date in the NIK differs from the stated birth date (recorded, not refused: check the ID card)",
            Api.Membership.V1.NikWarning.SexMismatch => "NIK_SEX_MISMATCH: the NIK encodes the other sex than the one stated (recorded, not refused: check the ID card)",
            var other => Name(other),
        }));
}
