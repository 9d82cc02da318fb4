using System.Globalization;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;

namespace Verification.Membership.Tests.Support;

/// <summary>Valid, unique NIKs and enrolment requests for tests; dates are relative to today in Jakarta.</summary>
public static class TestData
{
    private static int _counter;

    public static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));

    /// <summary>A NIK no other test uses: Kota Semarang, a district and serial from a process-wide counter.</summary>
    public static string Nik(DateOnly birthDate, bool female = false)
    {
        var n = Interlocked.Increment(ref _counter);
        var district = 1 + (n / 9999 % 99);
        var serial = 1 + (n % 9999);
        var day = birthDate.Day + (female ? 40 : 0);
        return string.Create(CultureInfo.InvariantCulture, $"3374{district:D2}{day:D2}{birthDate.Month:D2}{birthDate.Year % 100:D2}{serial:D4}");
    }

    public static string Nik() => Nik(new DateOnly(1990, 5, 17));

    /// <summary>A stored NIK number as its 16 digits.</summary>
    public static string Digits(long nik) => nik.ToString("D16", CultureInfo.InvariantCulture);

    public static Date ToApi(this DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    /// <summary>A valid BPU enrolment through KUR at bank 002 (JKK + JKM), started a year ago.</summary>
    public static EnrollParticipantRequest Bpu(string? nik = null, DateOnly? birthDate = null, bool female = false)
    {
        var born = birthDate ?? new DateOnly(1990, 5, 17);
        return new EnrollParticipantRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString(),
            Nik = nik ?? Nik(born, female),
            FullName = "Siti Aminah",
            BirthDate = born.ToApi(),
            Sex = female ? Sex.Female : Sex.Male,
            Segment = Segment.Bpu,
            Programs = { Program.Jkk, Program.Jkm },
            Channel = EnrolmentChannel.Kur,
            ChannelReference = "002",
            MonthlyIncomeRupiah = 2_500_000,
            StartDate = Today.AddYears(-1).ToApi(),
        };
    }

    /// <summary>A valid PU enrolment by employer 11000001 with JKK, JKM, JHT and JP.</summary>
    public static EnrollParticipantRequest Pu(string? nik = null, DateOnly? start = null)
    {
        var request = Bpu(nik);
        request.Segment = Segment.Pu;
        request.Programs.Clear();
        request.Programs.Add([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp]);
        request.EmployerNumber = "11000001";
        request.ChannelReference = "";
        request.MonthlyIncomeRupiah = 6_000_000;
        request.StartDate = (start ?? Today.AddYears(-2)).ToApi();
        return request;
    }
}
