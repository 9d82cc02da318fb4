using System.Globalization;
using System.Resources;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Http;
using Verification.Api.Common.V1;
using Verification.Domain;

namespace Verification.Portal.Text;

/// <summary>
/// The portal's words in the member's language (Bahasa Indonesia unless they chose English), from Resources/Indonesian.resx and English.resx,
/// and dates, months and rupiah as that language writes them: <c>5 Desember 2026</c>, <c>Rp41.800</c>.
/// </summary>
public sealed class PortalText
{
    public const string LanguageCookie = "verification-portal-lang";

    // The host runs with invariant globalization (no culture but the invariant one can exist): one neutral resource file per
    // language instead of satellite assemblies, and the date and number formats are ours.
    private static readonly ResourceManager IndonesianWords = new("Verification.Portal.Resources.Indonesian", typeof(PortalText).Assembly);
    private static readonly ResourceManager EnglishWords = new("Verification.Portal.Resources.English", typeof(PortalText).Assembly);

    private static readonly NumberFormatInfo EnglishNumbers = new() { NumberGroupSeparator = ",", NumberDecimalSeparator = ".", NumberGroupSizes = [3] };

    public PortalText(IHttpContextAccessor http)
        : this(http.HttpContext?.Request.Cookies[LanguageCookie] == "en")
    {
    }

    internal PortalText(bool english)
    {
        IsEnglish = english;
        Words = english ? EnglishWords : IndonesianWords;
    }

    public bool IsEnglish { get; }

    /// <summary>For the html lang attribute.</summary>
    public string LanguageTag => IsEnglish ? "en" : "id";

    private ResourceManager Words { get; }

    /// <summary>The text for a key; the key itself when a resource is missing (a test checks none is).</summary>
    public string this[string key] => Words.GetString(key, CultureInfo.InvariantCulture) ?? key;

    public string Format(string key, params object?[] values) => string.Format(CultureInfo.InvariantCulture, this[key], values);

    /// <summary>A key's text when it exists, else the fallback (server descriptions of fields we have no words for).</summary>
    public string Or(string key, string fallback) => Words.GetString(key, CultureInfo.InvariantCulture) ?? fallback;

    public static bool HasKey(string key) => IndonesianWords.GetString(key, CultureInfo.InvariantCulture) is not null && EnglishWords.GetString(key, CultureInfo.InvariantCulture) is not null;

    public string Month(int month) => this["Month" + month.ToString(CultureInfo.InvariantCulture)];

    /// <summary>5 Desember 2026 / 5 December 2026.</summary>
    public string Date(DateOnly day) => $"{day.Day} {Month(day.Month)} {day.Year}";

    public string Date(Date? day) => day is null || day.Year == 0 ? "" : Date(new DateOnly(day.Year, day.Month, day.Day));

    /// <summary>A moment as the day and time in Jakarta: 5 Desember 2026 14.05 WIB.</summary>
    public string Moment(DateTimeOffset instant)
    {
        var local = instant.ToOffset(WibCalendar.Wib);
        var separator = IsEnglish ? ":" : ".";
        return $"{Date(DateOnly.FromDateTime(local.DateTime))} {local.Hour:00}{separator}{local.Minute:00}{separator}{local.Second:00} WIB";
    }

    public string Moment(Timestamp? instant) => instant is null ? "" : Moment(instant.ToDateTimeOffset());

    public string MonthOf(int year, int month) => $"{Month(month)} {year}";

    /// <summary>Rp41.800 / Rp41,800.</summary>
    public string Rupiah(long amount) => IsEnglish ? "Rp" + amount.ToString("#,0", EnglishNumbers) : Domain.Rupiah.Format(amount);

    public string Number(long value) => IsEnglish ? value.ToString("#,0", EnglishNumbers) : value.ToString("#,0", new NumberFormatInfo { NumberGroupSeparator = ".", NumberGroupSizes = [3] });

    /// <summary>The words for an enum value: key "&lt;Enum&gt;_&lt;VALUE&gt;", e.g. KurScheme_MIKRO.</summary>
    public string Enum<T>(T value) where T : struct, System.Enum
    {
        var name = value.ToString();
        return Or(typeof(T).Name + "_" + name, name);
    }

    /// <summary>The field a server violation names, in words: "employee.nik" is "NIK".</summary>
    public string Field(string path) => Or("Field_" + path.Replace('.', '_'), path);
}
