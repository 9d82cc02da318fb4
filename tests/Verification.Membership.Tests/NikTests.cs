using Verification.Membership.Domain;
using Verification.Domain;

namespace Verification.Membership.Tests;

public class NikTests
{
    // Kota Semarang (33 74), district 01, born 15 August 1985, serial 0001.
    private const string SemarangMan = "3374011508850001";
    private const string SemarangWoman = "3374015508850001";

    private static string Build(string province = "33", string regency = "74", string district = "01", string ddmmyy = "150885", string serial = "0001") =>
        province + regency + district + ddmmyy + serial;

    private static IReadOnlyList<string> CodesOf(string? text) => [.. Nik.Validate(text).Problems.Select(p => p.Code)];

    [Fact]
    public void AWellFormedNikIsAccepted()
    {
        var validation = Nik.Validate(SemarangMan);

        Assert.True(validation.IsValid);
        Assert.Empty(validation.Problems);
        Assert.Equal(SemarangMan, validation.Nik!.RevealDigits());
    }

    // The Kemendagri codes, typed here from the brief's list rather than taken from the implementation.
    public static TheoryData<string> CurrentProvinceCodes => new(
        "11", "12", "13", "14", "15", "16", "17", "18", "19", "21",
        "31", "32", "33", "34", "35", "36", "51", "52", "53",
        "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76",
        "81", "82", "91", "92", "93", "94", "95", "96");

    [Theory]
    [MemberData(nameof(CurrentProvinceCodes))]
    public void EveryCurrentProvinceCodeIsAccepted(string province) =>
        Assert.True(Nik.Validate(Build(province: province)).IsValid);

    [Fact]
    public void TheProvinceTableHasExactlyTheThirtyEightCurrentProvinces()
    {
        Assert.Equal(38, IndonesianProvinces.All.Count);
        Assert.Equal(CurrentProvinceCodes.Cast<object[]>().Select(row => (string)row[0]).Order(), IndonesianProvinces.All.Select(p => p.Code).Order());
        Assert.True(IndonesianProvinces.TryGet("96", out var papuaBaratDaya));
        Assert.Equal("Papua Barat Daya", papuaBaratDaya!.Name);
    }

    [Theory]
    [InlineData("00")]
    [InlineData("99")]
    [InlineData("10")]
    [InlineData("20")]
    [InlineData("22")]
    [InlineData("37")]
    [InlineData("54")] // Timor Timur, no longer a province
    [InlineData("66")]
    [InlineData("77")]
    [InlineData("83")]
    [InlineData("90")]
    [InlineData("97")] // BPS's code for Papua Pegunungan, not Kemendagri's
    public void AnUnknownProvinceCodeIsRejected(string province) =>
        Assert.Equal(["NIK_UNKNOWN_PROVINCE"], CodesOf(Build(province: province)));

    [Fact]
    public void RegencyZeroIsRejectedAndAnyOtherRegencyIsAccepted()
    {
        Assert.Equal(["NIK_REGENCY_ZERO"], CodesOf(Build(regency: "00")));
        Assert.True(Nik.Validate(Build(regency: "01")).IsValid);
        Assert.True(Nik.Validate(Build(regency: "99")).IsValid);
    }

    [Fact]
    public void DistrictZeroIsRejectedAndAnyOtherDistrictIsAccepted()
    {
        Assert.Equal(["NIK_DISTRICT_ZERO"], CodesOf(Build(district: "00")));
        Assert.True(Nik.Validate(Build(district: "10")).IsValid);
        Assert.True(Nik.Validate(Build(district: "99")).IsValid);
    }

    [Theory]
    [InlineData("150885")] // 15 Aug 85, a man
    [InlineData("550885")] // the same date, a woman
    [InlineData("010100")] // 1 Jan 1900 or 2000
    [InlineData("311299")] // 31 Dec
    [InlineData("290200")] // 29 Feb 2000, a leap year (1900 was not, either century counts)
    [InlineData("690200")] // 29 Feb 2000, a woman
    [InlineData("290204")] // 29 Feb 1904 / 2004
    [InlineData("290296")] // 29 Feb 1996
    [InlineData("410185")] // a woman born on the 1st: the lowest female day
    [InlineData("710185")] // a woman born on the 31st: the highest female day
    [InlineData("700485")] // a woman born on 30 April
    [InlineData("310185")] // a man born on the 31st
    public void ARealBirthDateIsAccepted(string ddmmyy) =>
        Assert.True(Nik.Validate(Build(ddmmyy: ddmmyy)).IsValid);

    [Theory]
    [InlineData("310285")] // 31 February
    [InlineData("300285")] // 30 February
    [InlineData("290201")] // 29 Feb: neither 1901 nor 2001 is a leap year
    [InlineData("690201")] // the same for a woman
    [InlineData("290297")] // 29 Feb 1997 / 2097
    [InlineData("310485")] // 31 April
    [InlineData("710485")] // 31 April, a woman
    [InlineData("720185")] // 72 - 40 = 32
    [InlineData("320185")] // day 32
    [InlineData("400185")] // 40 - 40 = day 0
    [InlineData("000185")] // day 0
    [InlineData("010085")] // month 0
    [InlineData("011385")] // month 13
    [InlineData("019985")] // month 99
    public void AnImpossibleBirthDateIsRejected(string ddmmyy) =>
        Assert.Equal(["NIK_BIRTH_DATE_INVALID"], CodesOf(Build(ddmmyy: ddmmyy)));

    [Fact]
    public void SerialZeroIsRejectedAndTheFirstAndLastSerialsAreAccepted()
    {
        Assert.Equal(["NIK_SERIAL_ZERO"], CodesOf(Build(serial: "0000")));
        Assert.True(Nik.Validate(Build(serial: "0001")).IsValid);
        Assert.True(Nik.Validate(Build(serial: "9999")).IsValid);
    }

    [Theory]
    [InlineData("\u0663\u0663\u0667\u0664\u0660\u0661\u0661\u0665\u0660\u0668\u0668\u0665\u0660\u0660\u0660\u0661")] // Arabic-Indic digits
    [InlineData("\u06F3\u06F3\u06F7\u06F4\u06F0\u06F1\u06F1\u06F5\u06F0\u06F8\u06F8\u06F5\u06F0\u06F0\u06F0\u06F1")] // Extended Arabic-Indic digits
    [InlineData("\uFF13\uFF13\uFF17\uFF14\uFF10\uFF11\uFF11\uFF15\uFF10\uFF18\uFF18\uFF15\uFF10\uFF10\uFF10\uFF11")] // full-width digits
    [InlineData("337401150885000\u0661")] // one Arabic-Indic digit at the end
    [InlineData("33740115088500O1")] // the letter O
    [InlineData("3374011508850 01")]
    [InlineData("-374011508850001")]
    public void AnythingButSixteenAsciiDigitsIsRejected(string text)
    {
        Assert.Equal(16, text.Length);
        Assert.Equal(["NIK_NOT_DIGITS"], CodesOf(text));
    }

    [Theory]
    [InlineData("337401150885001")] // 15 digits
    [InlineData("33740115088500011")] // 17 digits
    [InlineData(" 3374011508850001")]
    [InlineData("3374011508850001\n")]
    [InlineData("1")]
    public void AWrongLengthIsRejected(string text) =>
        Assert.Equal(["NIK_WRONG_LENGTH"], CodesOf(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void AMissingNikIsRejected(string? text) =>
        Assert.Equal(["NIK_MISSING"], CodesOf(text));

    [Fact]
    public void EveryBrokenRuleIsReportedTogether() =>
        Assert.Equal(
            ["NIK_UNKNOWN_PROVINCE", "NIK_REGENCY_ZERO", "NIK_DISTRICT_ZERO", "NIK_BIRTH_DATE_INVALID", "NIK_SERIAL_ZERO"],
            CodesOf("0000000000000000"));

    [Theory]
    [InlineData("9974011508850001")]
    [InlineData("3300001508850001")]
    [InlineData("3374013102850001")]
    [InlineData("3374011508850000")]
    [InlineData("9900003102010000")]
    [InlineData("337401150885001")]
    [InlineData("33740115088500O1")]
    public void NoProblemDescriptionOrExceptionMessageContainsTheNik(string text)
    {
        var problems = Nik.Validate(text).Problems;
        Assert.NotEmpty(problems);
        var message = Assert.Throws<FormatException>(() => Nik.Parse(text)).Message;

        foreach (var said in problems.Select(p => p.Description).Append(message))
        {
            // No run of six consecutive characters of the input may appear: not the NIK, nor a birth date and region.
            for (var start = 0; start + 6 <= text.Length; start++)
            {
                Assert.DoesNotContain(text.Substring(start, 6), said, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void MaskKeepsTheFirstFourAndLastFourDigits() =>
        Assert.Equal("3374\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u20220001", Nik.Parse(SemarangMan).Mask());

    [Fact]
    public void ANikInterpolatedIntoAStringIsMasked()
    {
        var nik = Nik.Parse(SemarangMan);

        Assert.Equal("3374••••••••0001", nik.ToString());
        Assert.Equal("enrolled 3374••••••••0001", $"enrolled {nik}");
        Assert.Equal("[3374••••••••0001]", string.Format(System.Globalization.CultureInfo.InvariantCulture, "[{0}]", nik));
        Assert.DoesNotContain("01150885", $"{nik}", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("12345", "•••••")]
    [InlineData("337401150885001", "•••••••••••••••")]
    [InlineData("33740115088500011", "3374•••••••••0011")]
    public void RawInputIsMaskedWithoutRevealingAShortValue(string? text, string expected) =>
        Assert.Equal(expected, Nik.MaskInput(text));

    [Fact]
    public void TheEncodedPartsAreReadBack()
    {
        var woman = Nik.Parse(SemarangWoman);

        Assert.Equal("33", woman.ProvinceCode);
        Assert.Equal("74", woman.RegencyCode());
        Assert.Equal("01", woman.DistrictCode());
        Assert.Equal("0001", woman.Serial());
        Assert.Equal(Sex.Female, woman.EncodedSex);
        Assert.Equal(15, woman.BirthDay());
        Assert.Equal(8, woman.BirthMonth());
        Assert.Equal(85, woman.BirthYearOfCentury());
        Assert.Equal(Sex.Male, Nik.Parse(SemarangMan).EncodedSex);
    }

    [Fact]
    public void CandidateBirthDatesCoverBothCenturiesUnlessTheDateIsOnlyRealInOne()
    {
        Assert.Equal([new DateOnly(1985, 8, 15), new DateOnly(2085, 8, 15)], Nik.Parse(SemarangMan).CandidateBirthDates());
        Assert.Equal([new DateOnly(2000, 2, 29)], Nik.Parse(Build(ddmmyy: "690200")).CandidateBirthDates());
    }

    [Fact]
    public void ANikThatAgreesWithTheStatedDateAndSexHasNoWarnings()
    {
        Assert.Empty(Nik.Parse(SemarangMan).CrossCheck(new DateOnly(1985, 8, 15), Sex.Male));
        Assert.Empty(Nik.Parse(SemarangWoman).CrossCheck(new DateOnly(1985, 8, 15), Sex.Female));
        Assert.Empty(Nik.Parse(Build(ddmmyy: "690200")).CrossCheck(new DateOnly(2000, 2, 29), Sex.Female));
    }

    [Theory]
    [InlineData(1985, 8, 16)] // day
    [InlineData(1985, 9, 15)] // month
    [InlineData(1986, 8, 15)] // year
    [InlineData(1958, 8, 15)] // digits swapped
    public void ADifferentStatedBirthDateIsAWarningNotARejection(int year, int month, int day)
    {
        var warnings = Nik.Parse(SemarangMan).CrossCheck(new DateOnly(year, month, day), Sex.Male);

        Assert.Equal(["NIK_BIRTH_DATE_MISMATCH"], warnings.Select(w => w.Code));
    }

    [Fact]
    public void TheCenturyComesFromTheStatedBirthDate()
    {
        // "85" cannot say which century; the stated date decides, so both agree with it.
        Assert.Empty(Nik.Parse(SemarangMan).CrossCheck(new DateOnly(2085, 8, 15), null));

        // 1 Jan "00" stated as 1900 agrees; 29 Feb "00" cannot be 1900, but a stated 2000-02-29 agrees.
        Assert.Empty(Nik.Parse(Build(ddmmyy: "010100")).CrossCheck(new DateOnly(1900, 1, 1), null));
        Assert.Empty(Nik.Parse(Build(ddmmyy: "290200")).CrossCheck(new DateOnly(2000, 2, 29), null));
    }

    [Fact]
    public void AWomansDayOffsetAgainstAStatedManIsASexWarning()
    {
        Assert.Equal(["NIK_SEX_MISMATCH"], Nik.Parse(SemarangWoman).CrossCheck(new DateOnly(1985, 8, 15), Sex.Male).Select(w => w.Code));
        Assert.Equal(["NIK_SEX_MISMATCH"], Nik.Parse(SemarangMan).CrossCheck(new DateOnly(1985, 8, 15), Sex.Female).Select(w => w.Code));
    }

    [Fact]
    public void BothDisagreementsAreReportedAndNeitherWarningContainsTheNik()
    {
        var warnings = Nik.Parse(SemarangWoman).CrossCheck(new DateOnly(1990, 1, 1), Sex.Male);

        Assert.Equal(["NIK_BIRTH_DATE_MISMATCH", "NIK_SEX_MISMATCH"], warnings.Select(w => w.Code));
        Assert.All(warnings, w => Assert.DoesNotContain("550885", w.Description, StringComparison.Ordinal));
    }

    [Fact]
    public void UnstatedFactsAreNotChecked() =>
        Assert.Empty(Nik.Parse(SemarangWoman).CrossCheck(null, null));

    [Fact]
    public void TwoNiksWithTheSameDigitsAreEqual()
    {
        Assert.Equal(Nik.Parse(SemarangMan), Nik.Parse(SemarangMan));
        Assert.True(Nik.Parse(SemarangMan) == Nik.Parse(SemarangMan));
        Assert.NotEqual(Nik.Parse(SemarangMan), Nik.Parse(SemarangWoman));
        Assert.Equal(Nik.Parse(SemarangMan).GetHashCode(), Nik.Parse(SemarangMan).GetHashCode());
    }

    [Fact]
    public void TryParseGivesNoNikForAnInvalidOne()
    {
        Assert.False(Nik.TryParse("3374013102850001", out var nik));
        Assert.Null(nik);
        Assert.True(Nik.TryParse(SemarangMan, out nik));
        Assert.NotNull(nik);
    }
}
