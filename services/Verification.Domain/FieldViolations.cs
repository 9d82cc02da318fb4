namespace Verification.Domain;

/// <summary>One problem with one field of a request: the field's path as in the API, a stable upper-snake reason, and a description that never echoes the input.</summary>
public sealed record FieldViolation(string Field, string Reason, string Description);

/// <summary>
/// Collects every problem of a request, with the rules every service shares (NIK, names, birth dates, money, employer
/// numbers) written once. Services turn it into <c>google.rpc.BadRequest</c> at the edge; descriptions never hold the input.
/// </summary>
public sealed class FieldViolations(DateOnly today)
{
    public const int MaxNameLength = 100;

    /// <summary>Social security covers workers from this age.</summary>
    public const int MinimumAge = 15;

    public const int MaxEmployerNumberLength = 20;

    private readonly List<FieldViolation> _all = [];

    /// <summary>Today in Jakarta, against which dates in the future and ages are judged.</summary>
    public DateOnly Today => today;

    public bool Any => _all.Count > 0;

    public IReadOnlyList<FieldViolation> All => _all;

    public void Add(string field, string reason, string description) => _all.Add(new FieldViolation(field, reason, description));

    public void AddRange(IEnumerable<FieldViolation> violations) => _all.AddRange(violations);

    /// <summary>A structurally valid NIK, or one violation per broken rule.</summary>
    public Nik? Nik(string field, string? text)
    {
        var validation = Domain.Nik.Validate(text);
        foreach (var problem in validation.Problems) Add(field, problem.Code, problem.Description);
        return validation.Nik;
    }

    /// <summary>Trimmed, 1–100 characters, no control characters.</summary>
    public string FullName(string field, string text) => Text(field, text, MaxNameLength, "NAME", "A full name");

    /// <summary>Trimmed, 1 to <paramref name="max"/> characters, no control characters; reasons are <paramref name="code"/>_MISSING, _TOO_LONG, _CONTROL_CHARACTERS.</summary>
    public string Text(string field, string text, int max, string code, string what)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0) Add(field, code + "_MISSING", $"{what} is required.");
        else if (trimmed.Length > max) Add(field, code + "_TOO_LONG", $"{what} has at most {max} characters.");
        if (trimmed.Any(char.IsControl)) Add(field, code + "_CONTROL_CHARACTERS", $"{what} cannot contain control characters (tabs, line breaks, ...).");
        return trimmed;
    }

    /// <summary>A worker's date of birth: given, not in the future, and at least <see cref="MinimumAge"/> years ago.</summary>
    public void WorkingAge(string field, DateOnly? birthDate, string reason = "UNDER_15", string? description = null)
    {
        if (birthDate is { } born && born.AddYears(MinimumAge) > today)
            Add(field, reason, description ?? $"Social security covers workers aged {MinimumAge} or over.");
    }

    /// <summary>Whole rupiah, not negative.</summary>
    public void Money(string field, long rupiah)
    {
        if (rupiah < 0) Add(field, "AMOUNT_NEGATIVE", "An amount of rupiah cannot be negative.");
    }

    /// <summary>An employer registration number (NPP): 1–20 ASCII letters or digits.</summary>
    public void EmployerNumber(string field, string employerNumber)
    {
        if (!IsEmployerNumber(employerNumber))
            Add(field, "EMPLOYER_NUMBER_INVALID", $"An employer registration number (NPP) is 1 to {MaxEmployerNumberLength} ASCII letters or digits.");
    }

    public static bool IsEmployerNumber(string text) => text.Length is > 0 and <= MaxEmployerNumberLength && text.All(char.IsAsciiLetterOrDigit);

    /// <summary>A real calendar day, checked for the future when asked; null (with a violation) otherwise.</summary>
    public DateOnly? Day(string field, int year, int month, int day, bool notInFuture)
    {
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            Add(field, "DATE_INVALID", "Not a real calendar day (year 1-9999, month 1-12, a day the month has).");
            return null;
        }

        var value = new DateOnly(year, month, day);
        if (notInFuture && value > today)
        {
            Add(field, "DATE_IN_FUTURE", "This date cannot be in the future.");
            return null;
        }

        return value;
    }
}
