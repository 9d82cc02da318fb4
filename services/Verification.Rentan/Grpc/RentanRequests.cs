using System.Globalization;
using Google.Protobuf.Collections;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Domain;
using Verification.Rentan.Data;
using Verification.Rentan.Features.Enrol;
using Verification.Rentan.Features.Extracts;
using Verification.Rentan.Features.Sponsors;

namespace Verification.Rentan.Grpc;

/// <summary>
/// Reads Rentan requests into feature commands, collecting every problem as a <c>google.rpc.BadRequest</c> field violation
/// (field path as in the proto, a stable upper-snake reason). Descriptions never echo the input: a NIK must not come back
/// in an error.
/// </summary>
internal sealed class RentanRequests(DateOnly today)
{
    public const int MaxRowIdLength = 64;
    public const int MaxSponsorCodeLength = 64;
    public const int MaxHouseholdIdLength = 40;
    public const int MaxRegions = 100;

    private readonly FieldViolations _violations = new(today);

    public bool Any => _violations.Any;

    public IReadOnlyList<FieldViolation> Violations => _violations.All;

    public void Add(string field, string reason, string description) => _violations.Add(field, reason, description);

    /// <summary>Throws INVALID_ARGUMENT carrying every violation, if there is any.</summary>
    public void ThrowIfAny() => _violations.ThrowIfAny();

    /// <summary>A member code: 1–64 lower-case ASCII letters, digits or '-'.</summary>
    public static bool IsSponsorCode(string text) =>
        text.Length is > 0 and <= MaxSponsorCodeLength && text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    public void SponsorCode(string field, string text)
    {
        if (text.Length == 0) Add(field, "SPONSOR_CODE_MISSING", "The sponsor code (the sponsor's member code) is required.");
        else if (!IsSponsorCode(text)) Add(field, "SPONSOR_CODE_INVALID", $"A sponsor code is 1 to {MaxSponsorCodeLength} lower-case ASCII letters, digits or '-'.");
    }

    /// <summary>A 4-digit regency/city code of a known province, regency not 00.</summary>
    public static bool IsRegencyCode(string text) =>
        text.Length == 4 && text.All(char.IsAsciiDigit) && IndonesianProvinces.IsKnown(text[..2]) && text[2..] != "00";

    /// <summary>A 2-digit province or 4-digit regency code.</summary>
    public static bool IsRegionCode(string text) => text.Length == 2 ? text.All(char.IsAsciiDigit) && IndonesianProvinces.IsKnown(text) : IsRegencyCode(text);

    public void Year(string field, int year)
    {
        if (year == 0) Add(field, "YEAR_MISSING", "The budget year is required.");
        else if (year is < 2000 or > 2100) Add(field, "YEAR_INVALID", "The budget year is 2000 to 2100.");
    }

    public SponsorCommand Sponsor(RegisterSponsorRequest request, string memberCode, string correlationId)
    {
        SponsorCode("sponsor_code", request.SponsorCode);
        var name = _violations.Text("name", request.Name, FieldViolations.MaxNameLength, "NAME", "A name");
        if (request.RegionCodes.Count == 0) Add("region_codes", "REGION_CODES_MISSING", "Name at least one region: a 2-digit province or 4-digit regency code.");
        else if (request.RegionCodes.Count > MaxRegions) Add("region_codes", "REGION_CODES_TOO_MANY", $"At most {MaxRegions} regions.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.RegionCodes.Count; i++)
        {
            var code = request.RegionCodes[i];
            if (!IsRegionCode(code)) Add($"region_codes[{i}]", "REGION_CODE_INVALID", "A region is a 2-digit province code or a 4-digit regency code of a known province.");
            else if (!seen.Add(code)) Add($"region_codes[{i}]", "REGION_CODE_DUPLICATE", "A region is named twice.");
        }

        ThrowIfAny();
        return new SponsorCommand(request.SponsorCode, name, [.. request.RegionCodes], memberCode, correlationId);
    }

    public AgreementCommand Agreement(SaveAgreementRequest request, string memberCode, string correlationId)
    {
        SponsorCode("sponsor_code", request.SponsorCode);
        Year("year", request.Year);
        if (request.BudgetRupiah <= 0) Add("budget_rupiah", "BUDGET_NOT_POSITIVE", "The budget is a positive amount of whole rupiah.");
        var programs = Programs("programs", request.Programs);
        var start = _violations.RequiredDate("start_date", request.StartDate, notInFuture: false);
        var end = _violations.RequiredDate("end_date", request.EndDate, notInFuture: false);
        if (start is { } first && first.Year != request.Year) Add("start_date", "DATE_OUTSIDE_YEAR", "The agreement starts within its budget year.");
        if (end is { } last && last.Year != request.Year) Add("end_date", "DATE_OUTSIDE_YEAR", "The agreement ends within its budget year.");
        if (start is { } s && end is { } e && e < s) Add("end_date", "END_BEFORE_START", "The end cannot be before the start.");
        if (request.DeclaredMonthlyIncomeRupiah < 0) Add("declared_monthly_income_rupiah", "AMOUNT_NEGATIVE", "An amount of rupiah cannot be negative.");
        ThrowIfAny();
        return new AgreementCommand(request.SponsorCode, request.Year, request.BudgetRupiah, programs!, start!.Value, end!.Value, request.DeclaredMonthlyIncomeRupiah, memberCode, correlationId);
    }

    /// <summary>JKK and JKM always, optionally JHT (non-wage earners join no other); none twice.</summary>
    private List<Program>? Programs(string field, RepeatedField<Program> programs)
    {
        var seen = new List<Program>();
        var valid = true;
        for (var i = 0; i < programs.Count; i++)
        {
            var program = programs[i];
            if (program is not (Program.Jkk or Program.Jkm or Program.Jht))
            {
                Add($"{field}[{i}]", "PROGRAM_NOT_OFFERED", "Sponsored workers are covered for PROGRAM_JKK and PROGRAM_JKM, and optionally PROGRAM_JHT.");
                valid = false;
            }
            else if (seen.Contains(program))
            {
                Add($"{field}[{i}]", "PROGRAM_DUPLICATE", "A program is named twice.");
                valid = false;
            }
            else
            {
                seen.Add(program);
            }
        }

        if (!seen.Contains(Program.Jkk) || !seen.Contains(Program.Jkm))
        {
            Add(field, "MANDATORY_PROGRAM_MISSING", "JKK and JKM are mandatory for sponsored workers.");
            valid = false;
        }

        return valid ? seen : null;
    }

    public DateOnly ExtractHeader(ExtractHeader? header)
    {
        if (header is null)
        {
            Add("header", "HEADER_MISSING", "The first message of an upload is its header.");
            ThrowIfAny();
        }

        SponsorCode("header.sponsor_code", header!.SponsorCode);
        var date = _violations.RequiredDate("header.extract_date", header.ExtractDate, notInFuture: true);
        ThrowIfAny();
        return date!.Value;
    }

    /// <summary>An extract row, or null with every problem recorded (paths relative to the row).</summary>
    public ExtractRowRecord? ExtractRow(ExtractRow row)
    {
        var nik = _violations.Nik("nik", row.Nik);
        if (row.HouseholdId.Length == 0) Add("household_id", "HOUSEHOLD_ID_MISSING", "The DTSEN household id is required.");
        else if (row.HouseholdId.Length > MaxHouseholdIdLength || !row.HouseholdId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            Add("household_id", "HOUSEHOLD_ID_INVALID", $"A household id is 1 to {MaxHouseholdIdLength} ASCII letters, digits or '-'.");
        if (row.Decile is < 1 or > 10) Add("decile", "DECILE_INVALID", "The decile is 1 (poorest) to 10.");
        if (!IsRegencyCode(row.RegencyCode)) Add("regency_code", "REGENCY_CODE_INVALID", "The regency is a 4-digit code of a known province, regency not 00.");
        PovertyCategoryKind? category = row.PovertyCategory switch
        {
            PovertyCategory.ExtremePoor => PovertyCategoryKind.ExtremePoor,
            PovertyCategory.Poor => PovertyCategoryKind.Poor,
            PovertyCategory.NearPoor => PovertyCategoryKind.NearPoor,
            PovertyCategory.Vulnerable => PovertyCategoryKind.Vulnerable,
            PovertyCategory.NotPoor => PovertyCategoryKind.NotPoor,
            _ => null,
        };
        if (category is null) Add("poverty_category", "POVERTY_CATEGORY_MISSING", "The poverty category is required (POVERTY_CATEGORY_...).");
        if (Any) return null;
        return new ExtractRowRecord
        {
            Nik = long.Parse(nik!.RevealDigits(), NumberStyles.None, CultureInfo.InvariantCulture),
            HouseholdId = row.HouseholdId,
            Decile = (short)row.Decile,
            RegencyCode = row.RegencyCode,
            Category = category!.Value,
        };
    }

    /// <summary>The NIK of a row that failed, as stored, when it parses (so a later row with it is still a duplicate).</summary>
    public static long? NikOf(string text) =>
        Nik.TryParse(text, out var nik) ? long.Parse(nik.RevealDigits(), NumberStyles.None, CultureInfo.InvariantCulture) : null;

    public (string SponsorCode, string AgreementId) EnrolmentHeader(EnrolmentListHeader? header)
    {
        if (header is null)
        {
            Add("header", "HEADER_MISSING", "The first message of a list is its header.");
            ThrowIfAny();
        }

        SponsorCode("header.sponsor_code", header!.SponsorCode);
        if (header.AgreementId.Length == 0) Add("header.agreement_id", "AGREEMENT_ID_MISSING", "The agreement id is required (e.g. sponsor-parepare-2026).");
        else if (header.AgreementId.Length > 100) Add("header.agreement_id", "AGREEMENT_ID_INVALID", "An agreement id has at most 100 characters.");
        ThrowIfAny();
        return (header.SponsorCode, header.AgreementId);
    }

    /// <summary>The row id as answered: cut to its longest allowed length.</summary>
    public static string AnsweredRowId(string text) => text.Length > MaxRowIdLength ? text[..MaxRowIdLength] : text;

    /// <summary>A worker row of a list, each of its problems recorded (paths relative to the request: <c>row.…</c>).</summary>
    public ListRow WorkerRow(WorkerRow row)
    {
        if (row.RowId.Length > MaxRowIdLength) Add("row.row_id", "ROW_ID_TOO_LONG", $"A row id has at most {MaxRowIdLength} characters.");
        var nik = _violations.Nik("row.nik", row.Nik);
        var name = _violations.FullName("row.full_name", row.FullName);
        var birth = _violations.RequiredDate("row.birth_date", row.BirthDate, notInFuture: true);
        _violations.WorkingAge("row.birth_date", birth, "UNDER_MINIMUM_AGE", $"A sponsored worker is {FieldViolations.MinimumAge} or over.");
        var sex = _violations.Sex("row.sex", row.Sex);
        long? income = row.HasDeclaredMonthlyIncomeRupiah ? row.DeclaredMonthlyIncomeRupiah : null;
        if (income < 0) Add("row.declared_monthly_income_rupiah", "AMOUNT_NEGATIVE", "An amount of rupiah cannot be negative.");
        var rowId = AnsweredRowId(row.RowId);
        if (Any || nik is null || birth is null || sex is null) return new ListRow.Invalid(rowId, [.. Violations]);
        return new ListRow.Valid(rowId, new WorkerDetails(nik, name, birth.Value, sex.Value, income));
    }

    public (int Year, int Month) Month(string field, YearMonth? month)
    {
        var value = _violations.RequiredMonth(field, month);
        ThrowIfAny();
        return value!.Value;
    }
}
