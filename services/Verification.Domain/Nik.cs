using System.Diagnostics.CodeAnalysis;

namespace Verification.Domain;

/// <summary>
/// A structurally valid Nomor Induk Kependudukan: province (2) + regency/city (2) + district (2)
/// of first registration, birth date DDMMYY with 40 added to the day for women, serial (4).
/// </summary>
/// <remarks>
/// <para>The NIK is personal data (UU 27/2022). <see cref="ToString"/> returns the masked form, so a NIK
/// interpolated into a log line or an exception message never leaks; the raw digits come only from
/// <see cref="RevealDigits"/>, a name meant to stand out in code review. The parts of the number are
/// exposed as methods, not properties, so serializers and structured loggers that walk properties
/// find nothing but the province and sex.</para>
/// <para>The two-digit birth year does not say its century. Structural validation accepts a date that is
/// real in either 19YY or 20YY: the only date this decides is 29 February, which is accepted when
/// either year is a leap year (so 29 Feb "00" is valid because 2000 was, "01" is not because neither
/// 1901 nor 2001 was). A birth date in the future is not rejected: with no century we cannot tell.
/// <see cref="CrossCheck"/> takes the century from the stated birth date.</para>
/// </remarks>
public sealed class Nik : IEquatable<Nik>
{
    /// <summary>Number of digits in a NIK.</summary>
    public const int Length = 16;

    /// <summary>What women add to the day of birth in the NIK.</summary>
    public const int FemaleDayOffset = 40;

    private const char MaskCharacter = '\u2022';

    private readonly string _digits;

    private Nik(string digits) => _digits = digits;

    /// <summary>Two-digit Kemendagri province code of first registration, e.g. "33".</summary>
    public string ProvinceCode => _digits[..2];

    /// <summary>The sex the NIK encodes: female when 40 was added to the day of birth.</summary>
    public Sex EncodedSex => EncodedDayField > FemaleDayOffset ? Sex.Female : Sex.Male;

    private int EncodedDayField => TwoDigits(_digits, 6);

    /// <summary>The 16 raw digits. Personal data: never log, trace or put this in an event payload that does not need it.</summary>
    public string RevealDigits() => _digits;

    /// <summary>First four and last four digits with the middle masked, e.g. <c>3374••••••••0001</c>.</summary>
    public string Mask() => string.Concat(_digits.AsSpan(0, 4), new string(MaskCharacter, Length - 8), _digits.AsSpan(Length - 4));

    /// <summary>The masked form: a NIK that ends up in a string by accident stays masked.</summary>
    public override string ToString() => Mask();

    /// <summary>Two-digit regency/city code within the province.</summary>
    public string RegencyCode() => _digits.Substring(2, 2);

    /// <summary>Two-digit district code within the regency.</summary>
    public string DistrictCode() => _digits.Substring(4, 2);

    /// <summary>Four-digit serial, from "0001".</summary>
    public string Serial() => _digits[12..];

    /// <summary>Day of birth with the +40 for women removed (1–31).</summary>
    public int BirthDay() => EncodedDayField > FemaleDayOffset ? EncodedDayField - FemaleDayOffset : EncodedDayField;

    /// <summary>Month of birth (1–12).</summary>
    public int BirthMonth() => TwoDigits(_digits, 8);

    /// <summary>The two-digit year of birth; the century is not encoded.</summary>
    public int BirthYearOfCentury() => TwoDigits(_digits, 10);

    /// <summary>The birth dates the NIK can stand for: in 19YY and in 20YY, where that date is real (one or two dates, earliest first).</summary>
    public IReadOnlyList<DateOnly> CandidateBirthDates() =>
        CandidateDates(BirthDay(), BirthMonth(), BirthYearOfCentury());

    /// <summary>
    /// Compares the NIK with what the person or their institution states. Disagreements are warnings
    /// for the record, not rejections: the civil registry does not correct a NIK whose date part is wrong.
    /// </summary>
    /// <param name="statedBirthDate">Stated date of birth; its century disambiguates the NIK's two-digit year. Null skips the date check.</param>
    /// <param name="statedSex">Stated sex; null skips the sex check.</param>
    public IReadOnlyList<NikWarning> CrossCheck(DateOnly? statedBirthDate, Sex? statedSex)
    {
        var warnings = new List<NikWarning>(2);
        if (statedBirthDate is { } stated
            && (stated.Day != BirthDay() || stated.Month != BirthMonth() || stated.Year % 100 != BirthYearOfCentury()))
        {
            warnings.Add(NikWarning.For(NikWarningKind.BirthDateMismatch));
        }

        if (statedSex is { } sex && sex != EncodedSex)
        {
            warnings.Add(NikWarning.For(NikWarningKind.SexMismatch));
        }

        return warnings;
    }

    /// <summary>Checks every structural rule and reports each one broken; never echoes the input.</summary>
    public static NikValidation Validate(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return NikValidation.Rejected(NikRejection.Missing);
        }

        // Length before characters: a wrong-length value is reported as that, whatever it contains.
        if (text.Length != Length)
        {
            return NikValidation.Rejected(NikRejection.WrongLength);
        }

        // char.IsAsciiDigit, not char.IsDigit: Arabic-Indic or full-width digits are not a NIK.
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return NikValidation.Rejected(NikRejection.NotAsciiDigits);
            }
        }

        var problems = new List<NikRejection>();
        if (!IndonesianProvinces.IsKnown(text[..2]))
        {
            problems.Add(NikRejection.UnknownProvince);
        }

        if (text.AsSpan(2, 2) is "00")
        {
            problems.Add(NikRejection.RegencyZero);
        }

        if (text.AsSpan(4, 2) is "00")
        {
            problems.Add(NikRejection.DistrictZero);
        }

        var day = TwoDigits(text, 6);
        if (day > FemaleDayOffset)
        {
            day -= FemaleDayOffset;
        }

        if (CandidateDates(day, TwoDigits(text, 8), TwoDigits(text, 10)).Count == 0)
        {
            problems.Add(NikRejection.ImpossibleBirthDate);
        }

        if (text.AsSpan(12) is "0000")
        {
            problems.Add(NikRejection.SerialZero);
        }

        return problems.Count == 0
            ? NikValidation.Accepted(new Nik(text))
            : NikValidation.Rejected([.. problems]);
    }

    /// <summary>Parses a NIK; false when any structural rule is broken.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Nik? nik)
    {
        nik = Validate(text).Nik;
        return nik is not null;
    }

    /// <summary>Parses a NIK or throws a <see cref="FormatException"/> whose message names the rules broken, never the input.</summary>
    public static Nik Parse(string? text)
    {
        var validation = Validate(text);
        return validation.Nik
            ?? throw new FormatException("Not a valid NIK: " + string.Join(" ", validation.Problems.Select(p => p.Description)));
    }

    /// <summary>
    /// Masks raw input that may not even be a NIK (for logging a rejected request): keeps the first and last
    /// four characters only when at least eight remain hidden, otherwise hides everything.
    /// </summary>
    public static string MaskInput(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        return text.Length >= Length
            ? string.Concat(text.AsSpan(0, 4), new string(MaskCharacter, text.Length - 8), text.AsSpan(text.Length - 4))
            : new string(MaskCharacter, text.Length);
    }

    public bool Equals(Nik? other) => other is not null && string.Equals(_digits, other._digits, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Nik other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_digits);

    public static bool operator ==(Nik? left, Nik? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Nik? left, Nik? right) => !(left == right);

    private static int TwoDigits(string digits, int start) => ((digits[start] - '0') * 10) + (digits[start + 1] - '0');

    private static List<DateOnly> CandidateDates(int day, int month, int yearOfCentury)
    {
        var dates = new List<DateOnly>(2);
        if (month is < 1 or > 12 || day < 1)
        {
            return dates;
        }

        foreach (var century in (ReadOnlySpan<int>)[1900, 2000])
        {
            var year = century + yearOfCentury;
            if (day <= DateTime.DaysInMonth(year, month))
            {
                dates.Add(new DateOnly(year, month, day));
            }
        }

        return dates;
    }
}
