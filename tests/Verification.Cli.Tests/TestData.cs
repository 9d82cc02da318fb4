using System.Text.Json;

namespace Verification.Cli.Tests;

/// <summary>Distinct valid NIKs and loans, and the JSON helpers tests share.</summary>
public static class TestData
{
    private static int _next = Random.Shared.Next(0, 500_000);

    /// <summary>A structurally valid NIK (Semarang, born 15 Aug 1990, male) not handed out before in this process.</summary>
    public static string NewNik()
    {
        var n = Interlocked.Increment(ref _next);
        return $"3374{1 + (n / 9999 % 99):00}150890{1 + (n % 9999):0000}";
    }

    // Two groups of 8: 16 random hex characters can all be digits (one in 1,900), and the audit log masks such a run as a NIK.
    public static string NewLoan() => "SIKP-" + Guid.NewGuid().ToString("N")[..16].ToUpperInvariant().Insert(8, "-");

    public static string Today => DateTime.UtcNow.AddHours(7).ToString("yyyy-MM-dd");

    /// <summary>The arguments of <c>kur enrol</c> for a new borrower of bank 002 (bank-bri).</summary>
    public static string[] Enrol(string nik, string loan, string bankCode = "002") =>
    [
        "kur", "enrol", "--bank-code", bankCode, "--loan", loan, "--scheme", "MIKRO", "--amount", "50000000",
        "--disbursement-date", DateTime.UtcNow.AddHours(7).AddDays(30).ToString("yyyy-MM-dd"), "--nik", nik, "--name", "Siti Rahayu",
        "--birth-date", "1990-08-15", "--sex", "M", "--sector", "47111", "--region", "3374", "--income", "3000000",
    ];

    /// <summary>The JSON documents of a --output json run, one per line.</summary>
    public static List<JsonElement> JsonLines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    public static string Temp(string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), "verification-cli-files-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, name);
    }

    /// <summary>The file holds offsets 0..count-1, each exactly once, in order.</summary>
    public static void AssertComplete(string path, int count)
    {
        var results = Verification.Cli.Files.CsvFile.Read(path);
        Assert.Equal(["offset", "row_id", "status", "invalid_nik_reason"], results.Header);
        Assert.Equal(Enumerable.Range(0, count).Select(i => i.ToString()), results.Records.Select(r => r.Fields[0]));
        Assert.All(results.Records, r => Assert.Equal(4, r.Fields.Count));
    }
}
