using System.Globalization;
using System.Text.RegularExpressions;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;

namespace Verification.Portal.Uploads;

/// <summary>One row of a staff file: ready to send, or the problems (proto field path, resource key) that keep it from being sent.</summary>
public sealed record StaffRow(int Line, string RowId, string MaskedNik, string FullName, RegisterEmployeesRequest? Request, IReadOnlyList<(string Field, string ProblemKey)> Problems);

/// <summary>
/// The CLI's staff list format (README, "CSV files"): header <c>nik, full_name, birth_date, sex, position, work_unit,
/// employment_type, contract_start_date, monthly_wage_rupiah</c> and optionally <c>row_id, employer_number, contract_end_date,
/// programs, jkk_risk_class</c>; dates YYYY-MM-DD or DD/MM/YYYY. Only the file's form is read here: every rule is NonAsn's.
/// </summary>
public static partial class StaffFile
{
    public static readonly string[] RequiredColumns = ["nik", "full_name", "birth_date", "sex", "position", "work_unit", "employment_type", "contract_start_date", "monthly_wage_rupiah"];

    public static IReadOnlyList<string> MissingColumns(CsvRecords csv) => RequiredColumns.Where(c => csv.Column(c) < 0).ToList();

    public static StaffRow Parse(CsvRecords csv, CsvRecord record, string employer)
    {
        string Get(string column)
        {
            var index = csv.Column(column);
            return index >= 0 && index < record.Fields.Count ? record.Fields[index].Trim() : "";
        }

        var problems = new List<(string, string)>();
        var rowId = Get("row_id") is { Length: > 0 } id ? id : record.Line.ToString(CultureInfo.InvariantCulture);
        var employee = new Employee { Nik = Get("nik"), FullName = Get("full_name"), Position = Get("position"), WorkUnit = Get("work_unit") };
        employee.BirthDate = Date(Get("birth_date"), "employee.birth_date", required: true, problems);
        employee.ContractStartDate = Date(Get("contract_start_date"), "employee.contract_start_date", required: true, problems);
        employee.ContractEndDate = Date(Get("contract_end_date"), "employee.contract_end_date", required: false, problems);
        employee.Sex = Get("sex").ToUpperInvariant() switch
        {
            "M" or "L" or "MALE" or "LAKI-LAKI" => Sex.Male,
            "F" or "P" or "FEMALE" or "PEREMPUAN" => Sex.Female,
            _ => Problem(problems, "employee.sex", "UploadSexUnreadable", Sex.Unspecified),
        };
        employee.EmploymentType = Enum<EmploymentType>(Get("employment_type"), "employee.employment_type", problems);
        if (Get("jkk_risk_class") is { Length: > 0 } risk) employee.JkkRiskClass = Enum<JkkRiskClass>(risk, "employee.jkk_risk_class", problems);
        employee.MonthlyWageRupiah = Rupiah(Get("monthly_wage_rupiah"), "employee.monthly_wage_rupiah", problems);
        var programs = Get("programs") is { Length: > 0 } listed ? listed.Split([' ', '|', ',', ';', '+'], StringSplitOptions.RemoveEmptyEntries) : ["JKK", "JKM"];
        foreach (var program in programs) employee.Programs.Add(Enum<Api.Common.V1.Program>(program, "employee.programs", problems));
        var employerNumber = Get("employer_number") is { Length: > 0 } number ? number : employer;
        var request = new RegisterEmployeesRequest { RowId = rowId, EmployerNumber = employerNumber, Employee = employee };
        return new StaffRow(record.Line, rowId, Text.Masking.Nik(employee.Nik), employee.FullName, problems.Count == 0 ? request : null, problems);
    }

    private static T Problem<T>(List<(string, string)> problems, string field, string key, T value)
    {
        problems.Add((field, key));
        return value;
    }

    private static Date? Date(string text, string field, bool required, List<(string, string)> problems)
    {
        if (text.Length == 0) return required ? Problem<Date?>(problems, field, "UploadMissing", null) : null;
        string[] formats = ["yyyy-MM-dd", "dd/MM/yyyy", "d/M/yyyy"];
        return DateOnly.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? new Date { Year = day.Year, Month = day.Month, Day = day.Day }
            : Problem<Date?>(problems, field, "UploadDateUnreadable", null);
    }

    private static long Rupiah(string text, string field, List<(string, string)> problems)
    {
        var compact = text.Replace(" ", "", StringComparison.Ordinal).Replace("Rp", "", StringComparison.OrdinalIgnoreCase);
        if (ThousandsGrouped().IsMatch(compact)) compact = compact.Replace(".", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        return long.TryParse(compact, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amount)
            ? amount
            : Problem(problems, field, "UploadRupiahUnreadable", 0L);
    }

    /// <summary>Enum values in the proto's spelling without its prefix, e.g. PPNPN, VERY_LOW, JKK.</summary>
    public static T Enum<T>(string text, string field, List<(string, string)> problems) where T : struct, System.Enum
    {
        var wanted = text.Replace("-", "_", StringComparison.Ordinal).ToUpperInvariant();
        foreach (var value in System.Enum.GetValues<T>())
            if (Convert.ToInt32(value, CultureInfo.InvariantCulture) != 0 && ProtoName(value) == wanted) return value;
        return Problem(problems, field, "UploadChoiceUnreadable", default(T));
    }

    /// <summary>KurScheme.SuperMikro is SUPER_MIKRO.</summary>
    public static string ProtoName<T>(T value) where T : struct, System.Enum =>
        string.Concat(value.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();

    [GeneratedRegex(@"^-?\d{1,3}([.,]\d{3})+$")]
    private static partial Regex ThousandsGrouped();
}
