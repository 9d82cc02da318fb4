using System.Globalization;
using Verification.Api.Common.V1;

namespace Verification.Cli.Commands;

/// <summary>Parsing of the values clerks type: dates as YYYY-MM-DD, months as YYYY-MM, programs as JKK,JKM.</summary>
public static class Values
{
    public static Date Date(string? text, string option)
    {
        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            throw new UsageException($"{option}: expected a date as YYYY-MM-DD, got '{text}'");
        return new Date { Year = date.Year, Month = date.Month, Day = date.Day };
    }

    public static YearMonth Month(string? text, string option)
    {
        if (!DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            throw new UsageException($"{option}: expected a month as YYYY-MM, got '{text}'");
        return new YearMonth { Year = date.Year, Month = date.Month };
    }

    public static Sex Sex(string? text, string option) => text?.ToUpperInvariant() switch
    {
        "M" or "MALE" or "L" or "LAKI-LAKI" => Api.Common.V1.Sex.Male,
        "F" or "FEMALE" or "P" or "PEREMPUAN" => Api.Common.V1.Sex.Female,
        _ => throw new UsageException($"{option}: expected M or F, got '{text}'"),
    };

    public static string Format(Date? date) => date is null || date.Year == 0 ? "" : $"{date.Year:D4}-{date.Month:D2}-{date.Day:D2}";

    public static string Format(IEnumerable<Api.Common.V1.Program> programs) => string.Join(",", programs.Select(p => p.ToString().ToUpperInvariant()));

    public static string Rupiah(long amount) => "Rp" + amount.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Enum values in the proto's own spelling, e.g. KurScheme.SuperMikro → SUPER_MIKRO.</summary>
    public static string Name<T>(T value) where T : struct, Enum =>
        string.Concat(value.ToString()!.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    public static T Parse<T>(string? text, string option) where T : struct, Enum
    {
        var wanted = (text ?? "").Replace("-", "_", StringComparison.Ordinal).ToUpperInvariant();
        foreach (var value in Enum.GetValues<T>())
        {
            if (Name(value) == wanted && Convert.ToInt32(value, CultureInfo.InvariantCulture) != 0) return value;
        }
        var choices = Enum.GetValues<T>().Where(v => Convert.ToInt32(v, CultureInfo.InvariantCulture) != 0).Select(Name);
        throw new UsageException($"{option}: expected one of {string.Join(", ", choices)}, got '{text}'");
    }
}
