using System.Text;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary>
/// <c>nonasn …</c> and <c>prakerja …</c> end to end against the NonAsn and Prakerja modules in the monolithic host.
/// They need both modules registered in ModuleCatalog; without them they fail (UNIMPLEMENTED / not hosted), by design.
/// </summary>
public sealed class ModuleBulkCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private static string Month(DateOnly day) => day.ToString("yyyy-MM");

    [Fact]
    public async Task RegisterWithBadRowsWritesTheRightResultsPerRowAndExitsOneThenListAndStatementShowTheStaff()
    {
        var start = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7)).AddDays(1 - DateTime.UtcNow.AddHours(7).Day);
        var good = TestData.NewNik();
        var second = TestData.NewNik();
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            $"G1;11000001;{good};\"Rahayu; Siti\";1990-08-15;M;Staf;Dinas Kominfo;PPNPN;{start:yyyy-MM-dd};{start.AddYears(1):yyyy-MM-dd};3.500.000",
            $"G2;11000001;{second};Budi Santoso;15/08/1990;M;Staf;Dinas Kominfo;HONORER;{start:yyyy-MM-dd};;4000000",
            $"B1;11000001;{TestData.NewNik()};Wage Negatif;1990-08-15;M;Staf;Dinas;CONTRACT;{start:yyyy-MM-dd};;-1",
            $"B3;11000001;{TestData.NewNik()};Pegawai PPPK;1990-08-15;M;Staf;Dinas;PPPK;{start:yyyy-MM-dd};;3000000",
            $"B4;11000001;{TestData.NewNik()};Tanggal Salah;30/02/1990;M;Staf;Dinas;PPNPN;{start:yyyy-MM-dd};;3000000",
            $"B5;11000001;{good};Dobel;1990-08-15;M;Staf;Dinas;PPNPN;{start:yyyy-MM-dd};;3500000"), new UTF8Encoding(true));

        var run = await suite.RunAsync("kemnaker", "nonasn", "register", input);
        Assert.True(run.ExitCode == 1, run.ToString());

        var results = CsvFile.Read(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv"));
        var byRow = results.Records.ToDictionary(r => r.Fields[1], r => r.Fields);
        Assert.Equal(["G1", "G2", "B1", "B3", "B4", "B5"], results.Records.Select(r => r.Fields[1]));
        Assert.Equal("REGISTERED", byRow["G1"][2]);
        Assert.Matches(@"^\d{11}$", byRow["G1"][4]);
        Assert.Equal("REGISTERED", byRow["G2"][2]);
        Assert.Equal(("REJECTED", "INVALID_ARGUMENT"), (byRow["B1"][2], byRow["B1"][5]));
        Assert.Contains("employee.monthly_wage_rupiah", byRow["B1"][6]);
        Assert.Equal(("REJECTED", "INVALID_ARGUMENT"), (byRow["B3"][2], byRow["B3"][5]));
        Assert.Contains("employee.employment_type", byRow["B3"][6]);
        Assert.Contains("employee.birth_date", byRow["B4"][6]);
        Assert.Equal("REJECTED", byRow["B5"][2]); // the same NIK twice in one upload
        Assert.DoesNotContain(good, File.ReadAllText(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv")));

        var again = await suite.RunAsync("kemnaker", "nonasn", "register", input, "-o", "json");
        var summary = Assert.Single(TestData.JsonLines(again.Output));
        Assert.Equal(2, summary.GetProperty("unchanged").GetInt32());
        Assert.Equal(0, summary.GetProperty("registered").GetInt32());

        var list = await suite.RunAsync("kemnaker", "nonasn", "list", "--employer", "11000001", "-o", "json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var employments = TestData.JsonLines(list.Output);
        Assert.Contains(employments, e => e.GetProperty("employee").GetProperty("nik").GetString() == good);
        var human = await suite.RunAsync("kemnaker", "nonasn", "list", "--employer", "11000001");
        Assert.Contains("Budi Santoso", human.Output);

        var statement = await suite.RunAsync("kemnaker", "nonasn", "statement", "--employer", "11000001", "--month", Month(start));
        Assert.True(statement.ExitCode == 0, statement.ToString());
        Assert.Contains("Budi Santoso", statement.Output);
        Assert.Contains("JKK", statement.Output);
        Assert.Contains("employee(s)", statement.Output);

        var otherEmployer = await suite.RunAsync("kemnaker", "nonasn", "list", "--employer", "73720001");
        Assert.Equal(3, otherEmployer.ExitCode);
    }

    [Fact]
    public async Task ABankMayNotUploadStaffAndNothingIsSentWithExitCodeThree()
    {
        var nik = TestData.NewNik();
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList($"X1;11000001;{nik};Siti;1990-08-15;F;Staf;Dinas;PPNPN;2026-01-01;;3000000"));
        var run = await suite.RunAsync("bank-bri", "nonasn", "register", input);
        Assert.True(run.ExitCode == ExitCodes.AccessDenied, run.ToString());
        Assert.Contains("non-ASN staff are registered by agency and local-government members; you are bank-bri", run.Error);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv")));
        Assert.Equal(ExitCodes.No, (await suite.RunAsync("bank-bri", "verify", nik)).ExitCode);
    }

    [Fact]
    public async Task ARowForAnEmployerOutsideTheScopeStopsTheWholeFileBeforeAnyRowIsSent()
    {
        var start = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7)).AddDays(1 - DateTime.UtcNow.AddHours(7).Day);
        var inScope = TestData.NewNik();
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, BulkCommandTests.StaffList(
            $"G1;11000001;{inScope};Siti Rahayu;1990-08-15;F;Staf;Dinas;PPNPN;{start:yyyy-MM-dd};;3500000",
            $"B2;73720001;{TestData.NewNik()};Pegawai Pemkot;1990-08-15;M;Staf;Dinas;PPNPN;{start:yyyy-MM-dd};;3000000"));
        var run = await suite.RunAsync("kemnaker", "nonasn", "register", input);
        Assert.True(run.ExitCode == ExitCodes.AccessDenied, run.ToString());
        Assert.Contains("employer number 73720001: line 3", run.Error);
        Assert.Contains("nothing was sent", run.Error);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv")));
        // Not even the row in scope was registered.
        Assert.Equal(ExitCodes.No, (await suite.RunAsync("bank-bri", "verify", inScope)).ExitCode);

        var json = await suite.RunAsync("kemnaker", "nonasn", "register", input, "-o", "json");
        Assert.Equal(ExitCodes.AccessDenied, json.ExitCode);
        var error = System.Text.Json.JsonDocument.Parse(json.Error.Trim()).RootElement.GetProperty("error");
        Assert.Equal("ACCESS_DENIED", error.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task SubmitStatusAndResultsOfABatchAndAnInterruptedDownloadResumesWithoutDuplicates()
    {
        var covered = TestData.NewNik();
        Assert.Equal(0, (await suite.RunAsync("bank-bri", TestData.Enrol(covered, TestData.NewLoan()))).ExitCode);
        var unknown = TestData.NewNik();
        var input = TestData.Temp("recipients.csv");
        var rows = new List<string> { "row_id;nik;cohort", $"p1;{covered};g45", $"p2;{unknown};", "p3;12345;g45", $"p4;{covered};g46" };
        rows.AddRange(Enumerable.Range(5, 40).Select(i => $"p{i};{TestData.NewNik()};g46"));
        await File.WriteAllLinesAsync(input, rows);

        var submit = await suite.RunAsync("prakerja-pmo", "prakerja", "submit", input, "--label", "Gelombang 45 / CLI", "--cohort", "g45", "-o", "json");
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var answer = Assert.Single(TestData.JsonLines(submit.Output));
        Assert.True(answer.GetProperty("digestMatches").GetBoolean());
        var batchId = answer.GetProperty("batchId").GetString()!;

        var output = TestData.Temp("results.csv");
        var download = await suite.RunAsync("prakerja-pmo", "prakerja", "results", batchId, "--out", output);
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Contains("COMPLETED", download.Output);
        TestData.AssertComplete(output, 44);
        var full = File.ReadAllText(output);
        var byRow = CsvFile.Read(output).Records.ToDictionary(r => r.Fields[1], r => r.Fields);
        Assert.Equal("ACTIVE_NON_WAGE_EARNER", byRow["p1"][2]);
        Assert.Equal("NOT_REGISTERED", byRow["p2"][2]);
        Assert.Equal(("INVALID_NIK", "WRONG_LENGTH"), (byRow["p3"][2], byRow["p3"][3]));
        Assert.Equal("DUPLICATE_IN_BATCH", byRow["p4"][2]);

        var status = await suite.RunAsync("prakerja-pmo", "prakerja", "status", batchId);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("COMPLETED", status.Output);
        Assert.Contains("g46", status.Output);

        // Interrupted while writing row 20: the file ends in half a line.
        var lines = File.ReadAllLines(output);
        await File.WriteAllTextAsync(output, string.Join("\r\n", lines.Take(20)) + "\r\n" + lines[20][..5]);
        var resumed = await suite.RunAsync("prakerja-pmo", "prakerja", "results", batchId, "--out", output);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("resumed after offset 18", resumed.Output);
        Assert.Contains("25 result(s) received, 44 of 44", resumed.Output);
        Assert.Equal(full, File.ReadAllText(output));

        var bank = await suite.RunAsync("bank-bri", "prakerja", "status", batchId);
        Assert.Equal(3, bank.ExitCode);
    }
}
