using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Kur.Domain;
using Verification.Kur.Grpc;
using Verification.Kur.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Tests;

/// <summary>Validation reports one field violation per problem, with the proto's field paths, and never echoes a NIK.</summary>
public sealed class RequestValidationTests
{
    private static readonly DateOnly Today = new(2026, 11, 20);

    [Fact]
    public void AValidRequestBecomesACommand()
    {
        var request = TestData.Request(disbursement: Today.AddDays(5));
        request.Borrower.FullName = "  Siti Rahayu ";

        var command = new KurRequests(Today).Enrolment(request, "bank-bri", "c", KurReferenceData.Embedded)!;

        Assert.Equal(LoanScheme.Mikro, command.Scheme);
        Assert.Equal("Siti Rahayu", command.Borrower.FullName);
        Assert.Equal(request.Borrower.Nik, command.Borrower.Nik.RevealDigits());
    }

    [Fact]
    public void EveryProblemIsAFieldViolation()
    {
        var request = new EnrolBorrowerRequest
        {
            BankCode = "02",
            LoanReference = "SIKP 1",
            Scheme = (KurScheme)42,
            LoanAmountRupiah = -1,
            DisbursementDate = new Date { Year = 2026, Month = 2, Day = 30 },
            Borrower = new Borrower
            {
                Nik = "9900001508900000",
                FullName = " \t ",
                BirthDate = new Date { Year = 2020, Month = 1, Day = 1 },
                BusinessSector = "Z",
                RegionCode = "3300",
                DeclaredMonthlyIncomeRupiah = -5,
            },
        };

        var violations = Violations(() => new KurRequests(Today).Enrolment(request, "bank-bri", "c", KurReferenceData.Embedded));

        Assert.Equal(
            [
                ("bank_code", "BANK_CODE_INVALID"), ("loan_reference", "LOAN_REFERENCE_INVALID"), ("scheme", "SCHEME_UNKNOWN"),
                ("disbursement_date", "DATE_INVALID"), ("loan_amount_rupiah", "LOAN_AMOUNT_NOT_POSITIVE"),
                ("borrower.nik", "NIK_UNKNOWN_PROVINCE"), ("borrower.nik", "NIK_REGENCY_ZERO"), ("borrower.nik", "NIK_DISTRICT_ZERO"), ("borrower.nik", "NIK_SERIAL_ZERO"),
                ("borrower.full_name", "NAME_MISSING"),
                ("borrower.birth_date", "BORROWER_UNDER_15"), ("borrower.sex", "SEX_MISSING"),
                ("borrower.business_sector", "BUSINESS_SECTOR_INVALID"), ("borrower.region_code", "REGION_CODE_INVALID"),
                ("borrower.declared_monthly_income_rupiah", "AMOUNT_NEGATIVE"),
            ],
            violations.Select(v => (v.Field, v.Reason)));
        Assert.DoesNotContain(violations, v => v.Description.Contains("9900001508900000", StringComparison.Ordinal));
    }

    [Fact]
    public void AMissingBorrowerAndMissingValuesAreNamed()
    {
        var violations = Violations(() => new KurRequests(Today).Enrolment(new EnrolBorrowerRequest(), "bank-bri", "c", KurReferenceData.Embedded));

        Assert.Equal(
            [("bank_code", "BANK_CODE_MISSING"), ("loan_reference", "LOAN_REFERENCE_MISSING"), ("scheme", "SCHEME_MISSING"),
             ("disbursement_date", "DATE_MISSING"), ("loan_amount_rupiah", "LOAN_AMOUNT_NOT_POSITIVE"), ("borrower", "BORROWER_MISSING")],
            violations.Select(v => (v.Field, v.Reason)));
    }

    [Theory]
    [InlineData(KurScheme.SuperMikro, 10_000_000, null)]
    [InlineData(KurScheme.SuperMikro, 10_000_001, "LOAN_AMOUNT_OVER_CEILING")]
    [InlineData(KurScheme.Mikro, 10_000_000, "LOAN_AMOUNT_UNDER_SCHEME")]
    [InlineData(KurScheme.Mikro, 100_000_000, null)]
    [InlineData(KurScheme.Mikro, 100_000_001, "LOAN_AMOUNT_OVER_CEILING")]
    [InlineData(KurScheme.Kecil, 100_000_000, "LOAN_AMOUNT_UNDER_SCHEME")]
    [InlineData(KurScheme.Kecil, 500_000_000, null)]
    [InlineData(KurScheme.Kecil, 500_000_001, "LOAN_AMOUNT_OVER_CEILING")]
    [InlineData(KurScheme.Pmi, 100_000_000, null)]
    [InlineData(KurScheme.Pmi, 100_000_001, "LOAN_AMOUNT_OVER_CEILING")]
    [InlineData(KurScheme.Khusus, 500_000_000, null)]
    [InlineData(KurScheme.Khusus, 500_000_001, "LOAN_AMOUNT_OVER_CEILING")]
    public void TheLoanAmountIsCheckedAgainstTheSchemesCeilingOnTheDisbursementDate(KurScheme scheme, long amount, string? reason)
    {
        var request = TestData.Request(scheme: scheme, amount: amount, disbursement: Today);
        var requests = new KurRequests(Today);

        if (reason is null)
        {
            Assert.NotNull(requests.Enrolment(request, "bank-bri", "c", KurReferenceData.Embedded));
            return;
        }

        var violation = Assert.Single(Violations(() => requests.Enrolment(request, "bank-bri", "c", KurReferenceData.Embedded)));
        Assert.Equal(("loan_amount_rupiah", reason), (violation.Field, violation.Reason));
    }

    [Fact]
    public void ADisbursementBeforeAnySchemeCeilingIsInvalid()
    {
        var request = TestData.Request(disbursement: new DateOnly(2019, 12, 31));

        var violation = Assert.Single(Violations(() => new KurRequests(Today).Enrolment(request, "bank-bri", "c", KurReferenceData.Embedded)));

        Assert.Equal(("disbursement_date", "SCHEME_NOT_IN_FORCE"), (violation.Field, violation.Reason));
    }

    [Theory]
    [InlineData(2026, 1, 2026, 1, null)]
    [InlineData(2025, 1, 2027, 1, null)]
    [InlineData(2025, 1, 2027, 2, "MONTH_RANGE_TOO_LONG")]
    [InlineData(2026, 2, 2026, 1, "MONTH_RANGE_REVERSED")]
    [InlineData(2026, 13, 2026, 12, "MONTH_INVALID")]
    public void AReportPeriodIsAtMost24MonthsAfterItsStart(int startYear, int startMonth, int endYear, int endMonth, string? reason)
    {
        var requests = new KurRequests(Today);
        requests.MonthRange(new YearMonth { Year = startYear, Month = startMonth }, new YearMonth { Year = endYear, Month = endMonth });

        if (reason is null) Assert.Empty(requests.Violations);
        else Assert.Equal(reason, Assert.Single(requests.Violations).Reason);
    }

    [Theory]
    [InlineData("2026-01-01", "2026-12-31", null)]
    [InlineData("2024-01-01", "2024-12-31", null)] // a leap year: 366 days
    [InlineData("2026-01-01", "2027-01-01", null)]
    [InlineData("2026-01-01", "2027-01-02", "DATE_RANGE_TOO_LONG")]
    [InlineData("2026-01-02", "2026-01-01", "DATE_RANGE_REVERSED")]
    public void AListRangeIsAtMost366Days(string start, string end, string? reason)
    {
        var range = new DateRange { StartDate = TestData.ToApi(DateOnly.Parse(start, System.Globalization.CultureInfo.InvariantCulture)), EndDate = TestData.ToApi(DateOnly.Parse(end, System.Globalization.CultureInfo.InvariantCulture)) };

        if (reason is null)
        {
            new KurRequests(Today).DateRange("create_date_range", range);
            return;
        }

        Assert.Equal(reason, Assert.Single(Violations(() => new KurRequests(Today).DateRange("create_date_range", range))).Reason);
    }

    private static IReadOnlyList<BadRequest.Types.FieldViolation> Violations(Action call)
    {
        var ex = Assert.Throws<RpcException>(call);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        return ex.GetDetail<BadRequest>()!.FieldViolations;
    }

    private static IReadOnlyList<BadRequest.Types.FieldViolation> Violations(Func<object?> call) => Violations(() => { call(); });
}
