using System.Globalization;
using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Membership.Domain;
using Grpc.Core;
using Verification.Api;
using ApiSex = Verification.Api.Common.V1.Sex;
using DomainSex = Verification.Membership.Domain.Sex;

namespace Verification.Kur.Grpc;

/// <summary>
/// Reads KUR requests into feature commands, collecting every problem as a <c>google.rpc.BadRequest</c> field violation
/// (field path as in the proto, a stable upper-snake reason). Descriptions never echo the input: a NIK must not come
/// back in an error.
/// </summary>
internal sealed class KurRequests(DateOnly today)
{
    public const int MaxLoanReferenceLength = 64;
    public const int MaxNameLength = 100;
    public const int MinimumAge = 15;
    public const int MaxListDays = 366;
    public const int MaxReportMonthsAfterStart = 24;

    private readonly BadRequest _badRequest = new();

    public IReadOnlyList<BadRequest.Types.FieldViolation> Violations => _badRequest.FieldViolations;

    public void Add(string field, string reason, string description) =>
        _badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Reason = reason, Description = description });

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public void ThrowIfAny()
    {
        if (_badRequest.FieldViolations.Count > 0)
            throw RpcErrors.WithDetails(StatusCode.InvalidArgument, "The request has invalid fields; see the field violations.", _badRequest);
    }

    /// <summary>A loan reference can stand in logs and audit entries: 1–64 ASCII letters, digits and <c>- _ / . :</c>.</summary>
    public static bool IsLoanReference(string text) =>
        text.Length is > 0 and <= MaxLoanReferenceLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/' or '.' or ':');

    public static bool IsBankCode(string text) => text.Length == 3 && text.All(char.IsAsciiDigit);

    public EnrolmentCommand Enrolment(EnrolBorrowerRequest request, string memberCode, string correlationId, KurReferenceData referenceData)
    {
        BankCode("bank_code", request.BankCode);
        LoanReference("loan_reference", request.LoanReference);
        var scheme = Scheme("scheme", request.Scheme, required: true);
        var disbursement = RequiredDate("disbursement_date", request.DisbursementDate, notInFuture: false);
        LoanAmount(request.LoanAmountRupiah, scheme, disbursement, referenceData);

        BorrowerDetails? borrower = null;
        if (request.Borrower is not { } given)
        {
            Add("borrower", "BORROWER_MISSING", "The borrower is required.");
        }
        else
        {
            var nik = Nik("borrower.nik", given.Nik);
            var name = FullName("borrower.full_name", given.FullName);
            var birthDate = RequiredDate("borrower.birth_date", given.BirthDate, notInFuture: true);
            if (birthDate is { } born && born.AddYears(MinimumAge) > today)
                Add("borrower.birth_date", "BORROWER_UNDER_15", $"A borrower enrolled in social security is {MinimumAge} or over.");
            var sex = Sex("borrower.sex", given.Sex);
            BusinessSector("borrower.business_sector", given.BusinessSector);
            RegionCode("borrower.region_code", given.RegionCode);
            if (given.DeclaredMonthlyIncomeRupiah < 0)
                Add("borrower.declared_monthly_income_rupiah", "AMOUNT_NEGATIVE", "An amount of rupiah cannot be negative.");
            if (nik is not null && birthDate is { } birth && sex is { } knownSex)
                borrower = new BorrowerDetails(nik, name, birth, knownSex, given.BusinessSector, given.RegionCode, given.DeclaredMonthlyIncomeRupiah);
        }

        ThrowIfAny();
        return new EnrolmentCommand(request.BankCode, request.LoanReference, scheme!.Value, request.LoanAmountRupiah, disbursement!.Value,
            borrower!, memberCode, correlationId);
    }

    public CancellationCommand Cancellation(CancelEnrolmentRequest request, string memberCode, string correlationId)
    {
        BankCode("bank_code", request.BankCode);
        LoanReference("loan_reference", request.LoanReference);
        CancellationReasonKind? reason = request.Reason switch
        {
            CancellationReason.LoanRejected => CancellationReasonKind.LoanRejected,
            CancellationReason.LoanWithdrawn => CancellationReasonKind.LoanWithdrawn,
            CancellationReason.DataError => CancellationReasonKind.DataError,
            CancellationReason.Other => CancellationReasonKind.Other,
            _ => null,
        };
        if (reason is null) Add("reason", "REASON_MISSING", "A cancellation reason is required: LOAN_REJECTED, LOAN_WITHDRAWN, DATA_ERROR or OTHER.");
        ThrowIfAny();
        return new CancellationCommand(request.BankCode, request.LoanReference, reason!.Value, memberCode, correlationId);
    }

    /// <summary>An inclusive range of at most 366 days.</summary>
    public (DateOnly First, DateOnly Last) DateRange(string field, Api.Common.V1.DateRange? range)
    {
        var first = RequiredDate($"{field}.start_date", range?.StartDate, notInFuture: false);
        var last = RequiredDate($"{field}.end_date", range?.EndDate, notInFuture: false);
        if (first is { } a && last is { } b)
        {
            if (b < a) Add($"{field}.end_date", "DATE_RANGE_REVERSED", "The end date cannot be before the start date.");
            else if (b.DayNumber - a.DayNumber + 1 > MaxListDays) Add(field, "DATE_RANGE_TOO_LONG", $"A range covers at most {MaxListDays} days.");
        }

        ThrowIfAny();
        return (first!.Value, last!.Value);
    }

    /// <summary>A period of months, the last at most 24 months after the first.</summary>
    public ((int Year, int Month) First, (int Year, int Month) Last) MonthRange(YearMonth? start, YearMonth? end)
    {
        var first = Month("start_month", start);
        var last = Month("end_month", end);
        if (first is { } a && last is { } b)
        {
            var span = ((b.Year - a.Year) * 12) + b.Month - a.Month;
            if (span < 0) Add("end_month", "MONTH_RANGE_REVERSED", "The end month cannot be before the start month.");
            else if (span > MaxReportMonthsAfterStart) Add("end_month", "MONTH_RANGE_TOO_LONG", $"The end month is at most {MaxReportMonthsAfterStart} months after the start month.");
        }

        return (first ?? default, last ?? default);
    }

    public void LoanReference(string field, string text)
    {
        if (text.Length == 0) Add(field, "LOAN_REFERENCE_MISSING", "The SIKP loan reference is required.");
        else if (!IsLoanReference(text)) Add(field, "LOAN_REFERENCE_INVALID", $"A loan reference is 1 to {MaxLoanReferenceLength} ASCII letters, digits and - _ / . : characters.");
    }

    public LoanScheme? Scheme(string field, KurScheme scheme, bool required)
    {
        switch (scheme)
        {
            case KurScheme.SuperMikro: return LoanScheme.SuperMikro;
            case KurScheme.Mikro: return LoanScheme.Mikro;
            case KurScheme.Kecil: return LoanScheme.Kecil;
            case KurScheme.Pmi: return LoanScheme.Pmi;
            case KurScheme.Khusus: return LoanScheme.Khusus;
            case KurScheme.Unspecified when !required: return null;
            case KurScheme.Unspecified:
                Add(field, "SCHEME_MISSING", "A KUR scheme is required: SUPER_MIKRO, MIKRO, KECIL, PMI or KHUSUS.");
                return null;
            default:
                Add(field, "SCHEME_UNKNOWN", "Not a KUR scheme of the API.");
                return null;
        }
    }

    private void BankCode(string field, string text)
    {
        if (text.Length == 0) Add(field, "BANK_CODE_MISSING", "The bank code is required.");
        else if (!IsBankCode(text)) Add(field, "BANK_CODE_INVALID", "A bank code is 3 digits.");
    }

    private void LoanAmount(long amount, LoanScheme? scheme, DateOnly? disbursement, KurReferenceData referenceData)
    {
        const string field = "loan_amount_rupiah";
        if (amount <= 0)
        {
            Add(field, "LOAN_AMOUNT_NOT_POSITIVE", "The loan amount is a positive number of rupiah.");
            return;
        }

        if (scheme is not { } known || disbursement is not { } day) return;
        if (referenceData.LimitOn(known, day) is not { } limit)
        {
            Add("disbursement_date", "SCHEME_NOT_IN_FORCE", "The scheme has no loan ceiling in force on the disbursement date.");
            return;
        }

        if (amount > limit.Maximum)
            Add(field, "LOAN_AMOUNT_OVER_CEILING", $"The scheme lends at most Rp{Rupiah(limit.Maximum)} on the disbursement date.");
        else if (limit.ExclusiveMinimum is { } floor && amount <= floor)
            Add(field, "LOAN_AMOUNT_UNDER_SCHEME", $"The scheme lends over Rp{Rupiah(floor)}; a smaller loan belongs to another scheme.");
    }

    private Nik? Nik(string field, string text)
    {
        var validation = Membership.Domain.Nik.Validate(text);
        foreach (var problem in validation.Problems) Add(field, problem.Code, problem.Description);
        return validation.Nik;
    }

    private string FullName(string field, string text)
    {
        var name = text.Trim();
        if (name.Length == 0) Add(field, "NAME_MISSING", "A full name is required.");
        else if (name.Length > MaxNameLength) Add(field, "NAME_TOO_LONG", $"A full name has at most {MaxNameLength} characters.");
        if (name.Any(char.IsControl)) Add(field, "NAME_CONTROL_CHARACTERS", "A full name cannot contain control characters (tabs, line breaks, ...).");
        return name;
    }

    private DomainSex? Sex(string field, ApiSex sex)
    {
        switch (sex)
        {
            case ApiSex.Male: return DomainSex.Male;
            case ApiSex.Female: return DomainSex.Female;
            default:
                Add(field, "SEX_MISSING", "Sex is required: SEX_MALE or SEX_FEMALE.");
                return null;
        }
    }

    /// <summary>KBLI 2020: a section letter (A–U) or a 2- to 5-digit code.</summary>
    private void BusinessSector(string field, string text)
    {
        if (text.Length == 0) Add(field, "BUSINESS_SECTOR_MISSING", "The business sector (KBLI 2020 code) is required.");
        else if (!(text.Length == 1 && text[0] is >= 'A' and <= 'U') && !(text.Length is >= 2 and <= 5 && text.All(char.IsAsciiDigit)))
            Add(field, "BUSINESS_SECTOR_INVALID", "A KBLI 2020 code is a section letter A-U or 2 to 5 digits.");
    }

    /// <summary>A Kemendagri regency/city code: a known province and a regency that is not 00.</summary>
    private void RegionCode(string field, string text)
    {
        if (text.Length == 0) Add(field, "REGION_CODE_MISSING", "The region code of the business is required.");
        else if (text.Length != 4 || !text.All(char.IsAsciiDigit) || !IndonesianProvinces.IsKnown(text[..2]) || text[2..] == "00")
            Add(field, "REGION_CODE_INVALID", "A region code is the 4-digit Kemendagri code of a regency or city (a known province, regency not 00).");
    }

    private DateOnly? RequiredDate(string field, Date? date, bool notInFuture)
    {
        if (date is null || (date.Year == 0 && date.Month == 0 && date.Day == 0))
        {
            Add(field, "DATE_MISSING", "This date is required.");
            return null;
        }

        if (date.Year is < 1 or > 9999 || date.Month is < 1 or > 12 || date.Day < 1 || date.Day > DateTime.DaysInMonth(date.Year, date.Month))
        {
            Add(field, "DATE_INVALID", "Not a real calendar day (year 1-9999, month 1-12, a day the month has).");
            return null;
        }

        var day = new DateOnly(date.Year, date.Month, date.Day);
        if (notInFuture && day > today)
        {
            Add(field, "DATE_IN_FUTURE", "This date cannot be in the future.");
            return null;
        }

        return day;
    }

    private (int Year, int Month)? Month(string field, YearMonth? month)
    {
        if (month is null || (month.Year == 0 && month.Month == 0))
        {
            Add(field, "MONTH_MISSING", "This month is required.");
            return null;
        }

        if (month.Year is < 1 or > 9999 || month.Month is < 1 or > 12)
        {
            Add(field, "MONTH_INVALID", "Not a real month (year 1-9999, month 1-12).");
            return null;
        }

        return (month.Year, month.Month);
    }

    private static string Rupiah(long amount) => amount.ToString("#,0", CultureInfo.InvariantCulture);
}
