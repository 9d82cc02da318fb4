using Verification.Api.Common.V1;

namespace Verification.Api;

/// <summary>Programs as modules store them (KUR enrolments, non-ASN employments): codes joined by commas, in the API's order ("JKK,JKM,JHT").</summary>
public static class ProgramCodes
{
    public static string Join(IEnumerable<Program> programs) =>
        string.Join(',', programs.Where(p => p != Program.Unspecified).Distinct().Order().Select(Code));

    public static IReadOnlyList<Program> Split(string? stored) =>
        string.IsNullOrEmpty(stored) ? [] : stored.Split(',').Select(Parse).ToList();

    public static string Code(Program program) => program switch
    {
        Program.Jkk => "JKK",
        Program.Jkm => "JKM",
        Program.Jht => "JHT",
        Program.Jp => "JP",
        Program.Jkp => "JKP",
        _ => throw new ArgumentOutOfRangeException(nameof(program), program, "Not a program."),
    };

    private static Program Parse(string code) => code switch
    {
        "JKK" => Program.Jkk,
        "JKM" => Program.Jkm,
        "JHT" => Program.Jht,
        "JP" => Program.Jp,
        "JKP" => Program.Jkp,
        _ => throw new InvalidOperationException($"'{code}' is not a stored program code."),
    };
}
