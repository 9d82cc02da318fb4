using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Domain;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Grpc;

/// <summary>
/// Reads KUR requests into feature commands, collecting every problem as a <c>google.rpc.BadRequest</c> field violation
/// (field path as in the proto, a stable upper-snake reason). Descriptions never echo the input: a NIK must not come
/// back in an error.
/// </summary>
internal sealed class KurRequests(DateOnly today)
{
    public const int MaxLoanReferenceLength = 64;
    public const int MaxListDays = 366;
    public const int MaxReportMonthsAfterStart = 24;

    private readonly FieldViolations _violations = new(today);

    public IReadOnlyList<FieldViolation> Violations => _violations.All;

    public void Add(string field, string reason, string description) => _violations.Add(field, reason, description);

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public void ThrowIfAny() => _violations.ThrowIfAny();

    /// <summary>A loan reference can stand in logs and audit entries: 1–64 ASCII letters, digits and <c>- _ / . :</c>.</summary>
    public static bool IsLoanReference(string text) =>
        text.Length is > 0 and <= MaxLoanReferenceLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/' or '.' or ':');

    public static bool IsBankCode(string text) => text.Length == 3 && text.All(char.IsAsciiDigit);

    public EnrolmentCommand Enrolment(EnrolBorrowerRequest request, string memberCode, string correlationId, KurReferenceData referenceData)
    {
        BankCode("bank_code", request.BankCode);
        LoanReference("loan_reference", request.LoanReference);
        var scheme = Scheme("scheme", request.Scheme, required: true);
        var disbursement = _violations.RequiredDate("disbursement_date", request.DisbursementDate, notInFuture: false);
        LoanAmount(request.LoanAmountRupiah, scheme, disbursement, referenceData);

        BorrowerDetails? borrower = null;
        if (request.Borrower is not { } given)
        {
            Add("borrower", "BORROWER_MISSING", "The borrower is required.");
        }
        else
        {
            var nik = _violations.Nik("borrower.nik", given.Nik);
            var name = _violations.FullName("borrower.full_name", given.FullName);
            var birthDate = _violations.RequiredDate("borrower.birth_date", given.BirthDate, notInFuture: true);
            _violations.WorkingAge("borrower.birth_date", birthDate, "BORROWER_UNDER_15", $"A borrower enrolled in social security is {FieldViolations.MinimumAge} or over.");
            var sex = _violations.Sex("borrower.sex", given.Sex);
            BusinessSector("borrower.business_sector", given.BusinessSector);
            RegionCode("borrower.region_code", given.RegionCode);
            _violations.Money("borrower.declared_monthly_income_rupiah", given.DeclaredMonthlyIncomeRupiah);
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
        var first = _violations.RequiredDate($"{field}.start_date", range?.StartDate, notInFuture: false);
        var last = _violations.RequiredDate($"{field}.end_date", range?.EndDate, notInFuture: false);
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
        var first = _violations.RequiredMonth("start_month", start);
        var last = _violations.RequiredMonth("end_month", end);
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
            Add(field, "LOAN_AMOUNT_OVER_CEILING", $"The scheme lends at most {Rupiah.Format(limit.Maximum)} on the disbursement date.");
        else if (limit.ExclusiveMinimum is { } floor && amount <= floor)
            Add(field, "LOAN_AMOUNT_UNDER_SCHEME", $"The scheme lends over {Rupiah.Format(floor)}; a smaller loan belongs to another scheme.");
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

}
