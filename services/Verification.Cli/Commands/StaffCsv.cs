using System.Globalization;
using System.Text.RegularExpressions;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Cli.Files;

namespace Verification.Cli.Commands;

/// <summary>
/// The staff list of <c>nonasn register</c>. Header (any order, case-insensitive):
/// <c>nik, full_name, birth_date, sex, position, work_unit, employment_type, contract_start_date, contract_end_date,
/// monthly_wage_rupiah</c>, optional <c>row_id</c> (default: the line number), <c>employer_number</c> (default:
/// --employer), <c>programs</c> (default <c>JKK JKM</c>; separated by spaces or |), <c>jkk_risk_class</c>.
/// Dates as YYYY-MM-DD or DD/MM/YYYY; sex M/F (or L/P); wages in whole rupiah, thousands separators allowed.
/// </summary>
public static partial class StaffCsv
{
    public static readonly string[] RequiredColumns = ["nik", "full_name", "birth_date", "sex", "position", "work_unit", "employment_type", "contract_start_date", "monthly_wage_rupiah"];

    public static readonly string[] OptionalColumns = ["row_id", "employer_number", "contract_end_date", "programs", "jkk_risk_class"];

    public const string Help =
        "CSV header (any order): nik, full_name, birth_date, sex, position, work_unit, employment_type (PPNPN, HONORER, CONTRACT), " +
        "contract_start_date, monthly_wage_rupiah; optional: row_id (default: the line number), employer_number (default: --employer), " +
        "contract_end_date, programs (default \"JKK JKM\"; also JHT, JP), jkk_risk_class (VERY_LOW..VERY_HIGH). " +
        "Dates YYYY-MM-DD or DD/MM/YYYY. UTF-8, with ',' or ';' between fields (spreadsheet exports of either kind).";

    /// <summary>A row ready to send, or the problems that keep it from being sent (each a proto field path and plain words).</summary>
    public sealed record Row(CsvRecord Source, string RowId, RegisterEmployeesRequest? Request, IReadOnlyList<(string Field, string Problem)> Problems);

    /// <summary>The header has every required column; a file without them is invalid input (exit 4).</summary>
    public static void CheckHeader(CsvFile file)
    {
        var missing = RequiredColumns.Where(c => file.Column(c) < 0).ToList();
        if (missing.Count > 0)
            throw new InvalidInputException($"the CSV header lacks {string.Join(", ", missing)}. {Help}");
    }

    public static Row Parse(CsvFile file, CsvRecord record, string? employer)
    {
        string Get(string column)
        {
            var index = file.Column(column);
            return index >= 0 && index < record.Fields.Count ? record.Fields[index].Trim() : "";
        }

        var problems = new List<(string, string)>();
        var rowId = Get("row_id") is { Length: > 0 } id ? id : record.Line.ToString(CultureInfo.InvariantCulture);
        var employee = new Employee
        {
            Nik = Get("nik"),
            FullName = Get("full_name"),
            Position = Get("position"),
            WorkUnit = Get("work_unit"),
        };
        employee.BirthDate = Date(Get("birth_date"), "employee.birth_date", required: true, problems);
        employee.ContractStartDate = Date(Get("contract_start_date"), "employee.contract_start_date", required: true, problems);
        employee.ContractEndDate = Date(Get("contract_end_date"), "employee.contract_end_date", required: false, problems);
        employee.Sex = Get("sex").ToUpperInvariant() switch
        {
            "M" or "L" or "MALE" or "LAKI-LAKI" => Sex.Male,
            "F" or "P" or "FEMALE" or "PEREMPUAN" => Sex.Female,
            var other => Problem(problems, "employee.sex", $"expected M or F (L or P), got '{other}'", Sex.Unspecified),
        };
        employee.EmploymentType = Enum<EmploymentType>(Get("employment_type"), "employee.employment_type", problems);
        if (Get("jkk_risk_class") is { Length: > 0 } risk) employee.JkkRiskClass = Enum<JkkRiskClass>(risk, "employee.jkk_risk_class", problems);
        employee.MonthlyWageRupiah = Rupiah(Get("monthly_wage_rupiah"), "employee.monthly_wage_rupiah", problems);
        var programs = Get("programs") is { Length: > 0 } listed ? listed.Split([' ', '|', ',', ';', '+'], StringSplitOptions.RemoveEmptyEntries) : ["JKK", "JKM"];
        foreach (var program in programs) employee.Programs.Add(Enum<Api.Common.V1.Program>(program, "employee.programs", problems));

        var employerNumber = Get("employer_number") is { Length: > 0 } number ? number : employer ?? "";
        var request = new RegisterEmployeesRequest { RowId = rowId, EmployerNumber = employerNumber, Employee = employee };
        return new Row(record, rowId, problems.Count == 0 ? request : null, problems);
    }

    internal static T Problem<T>(List<(string, string)> problems, string field, string what, T value)
    {
        problems.Add((field, what));
        return value;
    }

    internal static Date? Date(string text, string field, bool required, List<(string, string)> problems)
    {
        if (text.Length == 0)
            return required ? Problem<Date?>(problems, field, "missing", null) : null;
        if (Values.TryDate(text, out var day)) return Values.ToApi(day);
        return Problem<Date?>(problems, field, $"expected a date as {Values.DateHelp}, got '{text}'", null);
    }

    internal static long Rupiah(string text, string field, List<(string, string)> problems)
    {
        var compact = text.Replace(" ", "", StringComparison.Ordinal);
        if (ThousandsGrouped().IsMatch(compact)) compact = compact.Replace(".", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        return long.TryParse(compact, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amount)
            ? amount
            : Problem(problems, field, $"expected whole rupiah, e.g. 3500000, got '{text}'", 0L);
    }

    internal static T Enum<T>(string text, string field, List<(string, string)> problems) where T : struct, Enum
    {
        try
        {
            return Values.Parse<T>(text, field);
        }
        catch (UsageException ex)
        {
            return Problem(problems, field, ex.Message[(field.Length + 2)..], default(T));
        }
    }

    [GeneratedRegex(@"^-?\d{1,3}([.,]\d{3})+$")]
    private static partial Regex ThousandsGrouped();
}
