using Verification.Api.Common.V1;
using WibCalendar = Verification.Domain.WibCalendar;
using Verification.Api.Kur.V1;
using Verification.Kur.Domain;

namespace Verification.Kur.Tests.Support;

/// <summary>Valid, distinct borrowers and requests for tests.</summary>
public static class TestData
{
    private static int _next = Random.Shared.Next(0, 500_000);

    public static readonly DateOnly BirthDate = new(1990, 8, 15);

    /// <summary>A structurally valid NIK (Semarang, born 15 Aug 1990, male) not handed out before in this process.</summary>
    public static string NewNik()
    {
        var n = Interlocked.Increment(ref _next);
        var district = 1 + (n / 9999 % 99);
        var serial = 1 + (n % 9999);
        return $"3374{district:00}150890{serial:0000}";
    }

    // Two groups of 8: 16 random hex characters can all be digits (one in 1,900), and the audit log masks such a run as a NIK.
    public static string NewLoanReference() => "SIKP-" + Guid.NewGuid().ToString("N")[..16].ToUpperInvariant().Insert(8, "-");

    public static DateOnly Today => WibCalendar.JakartaToday(TimeProvider.System);

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    public static EnrolBorrowerRequest Request(
        string bankCode = "002",
        string? loanReference = null,
        string? nik = null,
        KurScheme scheme = KurScheme.Mikro,
        long amount = 50_000_000,
        DateOnly? disbursement = null) => new()
        {
            BankCode = bankCode,
            LoanReference = loanReference ?? NewLoanReference(),
            Scheme = scheme,
            LoanAmountRupiah = amount,
            DisbursementDate = ToApi(disbursement ?? Today.AddDays(30)),
            Borrower = new Borrower
            {
                Nik = nik ?? NewNik(),
                FullName = "Siti Rahayu",
                BirthDate = ToApi(BirthDate),
                Sex = Sex.Male,
                BusinessSector = "47111",
                RegionCode = "3374",
                DeclaredMonthlyIncomeRupiah = 3_000_000,
            },
        };
}

/// <summary>A clock the test moves.</summary>
public sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
