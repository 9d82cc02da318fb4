using System.Text;
using System.Text.Json;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary>
/// The jobs the services offer, done through the real command against the monolithic host: cancelling a KUR enrolment,
/// changing a wage, extending a contract, ending an employment (single and from a file), and NIK warnings shown.
/// </summary>
public sealed class EveryJobCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private static DateOnly JakartaToday => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));

    private static DateOnly MonthStart => JakartaToday.AddDays(1 - JakartaToday.Day);

    [Fact]
    public async Task ALoanCancelledBeforeDisbursementLeavesTheBorrowerNotCovered()
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        Assert.Equal(0, (await suite.RunAsync("bank-bri", TestData.Enrol(nik, loan))).ExitCode);
        Assert.Equal(ExitCodes.Ok, (await suite.RunAsync("bank-bri", "verify", nik)).ExitCode);

        // The bank code comes from bank-bri's scope: it has exactly one.
        var cancel = await suite.RunAsync("bank-bri", "kur", "cancel", loan, "--reason", "LOAN_REJECTED");
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Contains("CANCELLED", cancel.Output);
        Assert.Matches("coverage ended: +JKK,JKM", cancel.Output);

        // Cancelled on the day its coverage began: the coverage is void, not "covered until today".
        var verify = await suite.RunAsync("bank-bri", "verify", nik, "-o", "json");
        Assert.True(verify.ExitCode == ExitCodes.No, verify.ToString());
        var answer = Assert.Single(TestData.JsonLines(verify.Output));
        Assert.False(answer.GetProperty("covered").GetBoolean());
        Assert.NotEqual("MEMBERSHIP_STATUS_ACTIVE", answer.GetProperty("status").GetString());

        // Safe to repeat: the same answer.
        Assert.Equal(0, (await suite.RunAsync("bank-bri", "kur", "cancel", loan, "--reason", "LOAN_REJECTED")).ExitCode);

        // Prakerja does not count them as an active non-wage earner.
        var input = TestData.Temp("recipients.csv");
        await File.WriteAllTextAsync(input, $"row_id,nik\nc1,{nik}\n");
        var submit = await suite.RunAsync("prakerja-pmo", "prakerja", "submit", input, "--label", "cancelled-" + loan, "--cohort", "g1", "-o", "json");
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var batch = TestData.JsonLines(submit.Output)[0].GetProperty("batchId").GetString()!;
        var results = TestData.Temp("results.csv");
        var download = await suite.RunAsync("prakerja-pmo", "prakerja", "results", batch, "--out", results);
        Assert.True(download.ExitCode == 0, download.ToString());
        var row = Assert.Single(CsvFile.Read(results).Records);
        Assert.Equal("INACTIVE", row.Fields[2]);
    }

    [Fact]
    public async Task AnEnrolmentWhoseNikDisagreesWithTheStatedSexShowsTheWarning()
    {
        var args = TestData.Enrol(TestData.NewNik(), TestData.NewLoan());
        args[Array.IndexOf(args, "--sex") + 1] = "F";
        var run = await suite.RunAsync("bank-bri", args);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("ENROLLED", run.Output);
        Assert.Contains("NIK_SEX_MISMATCH", run.Output);

        var ok = await suite.RunAsync("bank-bri", TestData.Enrol(TestData.NewNik(), TestData.NewLoan()));
        Assert.DoesNotContain("MISMATCH", ok.Output);
    }

    [Fact]
    public async Task TheStaffResultsFileHasAWarningsColumn()
    {
        var mismatch = TestData.NewNik();
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            $"W1;73720001;{mismatch};Siti Rahayu;1990-08-15;F;Staf;Dinas;PPNPN;{MonthStart:yyyy-MM-dd};;3500000",
            $"W2;73720001;{TestData.NewNik()};Budi Santoso;1990-08-15;M;Staf;Dinas;PPNPN;{MonthStart:yyyy-MM-dd};;3500000"));
        var run = await suite.RunAsync("pemkot-parepare", "nonasn", "register", input);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("warning: NIK_SEX_MISMATCH", run.Output);
        var results = CsvFile.Read(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv"));
        Assert.Equal("warnings", results.Header[^1]);
        var byRow = results.Records.ToDictionary(r => r.Fields[1], r => r.Fields);
        Assert.Equal("REGISTERED", byRow["W1"][2]);
        Assert.StartsWith("NIK_SEX_MISMATCH", byRow["W1"][7]);
        Assert.Equal("", byRow["W2"][7]);
    }

    [Fact]
    public async Task ChangeAWageExtendAContractAndEndAnEmploymentOneAtATime()
    {
        var nik = TestData.NewNik();
        await RegisterAsync(nik);
        var start = MonthStart.ToString("dd/MM/yyyy");

        // No --employer: pemkot-parepare has exactly one employer number.
        var wage = await suite.RunAsync("pemkot-parepare", "nonasn", "change-wage", "--nik", nik, "--contract-start", start, "--wage", "4.250.000", "--from", start);
        Assert.True(wage.ExitCode == 0, wage.ToString());
        Assert.Matches("monthly wage: +Rp4\\.250\\.000", wage.Output);

        var until = MonthStart.AddYears(2).AddDays(-1);
        var extend = await suite.RunAsync("pemkot-parepare", "nonasn", "extend", "--nik", nik, "--contract-start", start, "--until", until.ToString("yyyy-MM-dd"), "-o", "json");
        Assert.True(extend.ExitCode == 0, extend.ToString());
        var employment = Assert.Single(TestData.JsonLines(extend.Output));
        var end = employment.GetProperty("employee").GetProperty("contractEndDate");
        Assert.Equal((until.Year, until.Month, until.Day), (end.GetProperty("year").GetInt32(), end.GetProperty("month").GetInt32(), end.GetProperty("day").GetInt32()));

        var ended = await suite.RunAsync("pemkot-parepare", "nonasn", "end", "--nik", nik, "--date", JakartaToday.ToString("yyyy-MM-dd"), "--reason", "RESIGNED");
        Assert.True(ended.ExitCode == 0, ended.ToString());
        Assert.Contains("ENDED " + JakartaToday.ToString("yyyy-MM-dd"), ended.Output);

        // An employment that does not exist is "not found" (6); a missing option is usage (2) naming it.
        Assert.Equal(ExitCodes.NotFound, (await suite.RunAsync("pemkot-parepare", "nonasn", "end", "--nik", TestData.NewNik(), "--date", JakartaToday.ToString("yyyy-MM-dd"), "--reason", "RESIGNED")).ExitCode);
        var missing = await suite.RunAsync("pemkot-parepare", "nonasn", "extend", "--nik", nik, "--contract-start", start);
        Assert.Equal(ExitCodes.Usage, missing.ExitCode);
        Assert.Contains("--until: required", missing.Error);
    }

    [Fact]
    public async Task ChangesFromAFileGiveOneResultPerRowAndExitOneWhenARowIsRejected()
    {
        var first = TestData.NewNik();
        var second = TestData.NewNik();
        await RegisterAsync(first);
        await RegisterAsync(second);
        var start = MonthStart.ToString("yyyy-MM-dd");
        var input = TestData.Temp("wages.csv");
        await File.WriteAllTextAsync(input,
            "nik;contract_start_date;monthly_wage_rupiah;wage_effective_date\n" +
            $"{first};{start};4.000.000;{start}\n" +
            $"{second};{start};lots;{start}\n" +
            $"{TestData.NewNik()};{start};3000000;{start}\n", new UTF8Encoding(false));
        var run = await suite.RunAsync("pemkot-parepare", "nonasn", "change-wage", "--file", input);
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());
        var results = CsvFile.Read(Path.Combine(Path.GetDirectoryName(input)!, "wages.results.csv"));
        Assert.Equal(["line", "row_id", "outcome", "status", "problems", "employment_id", "state", "contract_end_date", "monthly_wage_rupiah"], results.Header);
        Assert.Equal(["DONE", "REJECTED", "REJECTED"], results.Records.Select(r => r.Fields[2]));
        Assert.Equal("4000000", results.Records[0].Fields[8]);
        Assert.Contains("monthly_wage_rupiah", results.Records[1].Fields[4]);
        Assert.Equal("NOT_FOUND", results.Records[2].Fields[3]);

        // A header-only file is invalid input, and so is a file for an employer outside the scope (access, before sending).
        var empty = TestData.Temp("empty.csv");
        await File.WriteAllTextAsync(empty, "nik,end_date,reason\n");
        Assert.Equal(ExitCodes.InvalidInput, (await suite.RunAsync("pemkot-parepare", "nonasn", "end", "--file", empty)).ExitCode);
        var outside = TestData.Temp("outside.csv");
        await File.WriteAllTextAsync(outside, $"nik,end_date,reason,employer_number\n{first},{start},RESIGNED,11000001\n");
        var refused = await suite.RunAsync("pemkot-parepare", "nonasn", "end", "--file", outside, "-o", "json");
        Assert.Equal(ExitCodes.AccessDenied, refused.ExitCode);
        Assert.Equal("ACCESS_DENIED", JsonDocument.Parse(refused.Error.Trim()).RootElement.GetProperty("error").GetProperty("kind").GetString());
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(outside)!, "outside.results.csv")));
    }

    private async Task RegisterAsync(string nik)
    {
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            $"R1;73720001;{nik};Budi Santoso;1990-08-15;M;Staf;Dinas;PPNPN;{MonthStart:yyyy-MM-dd};{MonthStart.AddYears(1).AddDays(-1):yyyy-MM-dd};3500000"));
        var run = await suite.RunAsync("pemkot-parepare", "nonasn", "register", input);
        Assert.True(run.ExitCode == 0, run.ToString());
    }
}
