using Microsoft.AspNetCore.Builder;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Cli.Files;

namespace Verification.Cli.Tests;

/// <summary>
/// <c>nonasn register</c> and <c>prakerja submit/results</c> against servers that follow the protos and break on
/// command (dropped and hung streams), so the CLI's bulk handling is tested on its own. The same commands against
/// the real modules are in <see cref="ModuleBulkCommandTests"/>.
/// </summary>
public sealed class BulkCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static async Task<FakeServer> NonAsnAsync() => await FakeServer.StartAsync(
        _ => { },
        app => app.MapGrpcService<FakeNonAsnService>());

    private static async Task<(FakeServer Server, FakePrakerjaState State)> PrakerjaAsync()
    {
        var state = new FakePrakerjaState();
        var server = await FakeServer.StartAsync(services => services.AddSingleton(state), app => app.MapGrpcService<FakePrakerjaService>());
        return (server, state);
    }

    private Task<CliRun> RunAsync(string address, params string[] args) =>
        suite.RunAsync(["--token-file", suite.TokenFile("kemnaker")], NoEnvironment, [.. args, "--address", address], CancellationToken.None);

    public static string StaffList(params string[] rows) =>
        "row_id;employer_number;nik;full_name;birth_date;sex;position;work_unit;employment_type;contract_start_date;contract_end_date;monthly_wage_rupiah\r\n" +
        string.Concat(rows.Select(r => r + "\r\n"));

    [Fact]
    public async Task ARegisterUploadWithBadRowsWritesOneResultPerRowBesideTheFileAndExitsOne()
    {
        await using var server = await NonAsnAsync();
        var start = "2026-01-0" + Random.Shared.Next(1, 9);
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, StaffList(
            $"A1;11000001;{TestData.NewNik()};\"Rahayu; Siti\";1990-08-15;F;Staf;Dinas;PPNPN;{start};2026-12-31;3.500.000",
            $"A2;11000001;{TestData.NewNik()};Budi;1990-08-15;M;Staf;Dinas;HONORER;{start};;-5",
            $"A3;99999999;{TestData.NewNik()};Ani;1990-08-15;F;Staf;Dinas;CONTRACT;{start};;3000000",
            $"A4;11000001;{TestData.NewNik()};Joko;31-02-1990;M;Staf;Dinas;PPNPN;{start};;3000000",
            $"A5;11000001;337401;Dewi;1990-08-15;F;Staf;Dinas;PPNPN;{start};;3000000"), new UTF8Encoding(true));

        var run = await RunAsync(server.Address, "nonasn", "register", input);
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("rejected", run.Output);
        Assert.Contains("line 5 (row A4): INVALID_ARGUMENT employee.birth_date: expected a date", run.Output);

        var resultsPath = Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv");
        var results = CsvFile.Read(resultsPath);
        Assert.Equal((';', true), (results.Delimiter, results.ByteOrderMark)); // as the input was written
        Assert.Equal(["line", "row_id", "outcome", "employment_id", "participant_number", "status", "problems", "warnings"], results.Header);
        var rows = results.Records.Select(r => r.Fields).ToList();
        Assert.Equal(["2", "3", "4", "5", "6"], rows.Select(r => r[0]));
        Assert.Equal(["A1", "A2", "A3", "A4", "A5"], rows.Select(r => r[1]));
        Assert.Equal(["REGISTERED", "REJECTED", "REJECTED", "REJECTED", "REJECTED"], rows.Select(r => r[2]));
        Assert.StartsWith("emp-", rows[0][3]);
        Assert.Equal(("INVALID_ARGUMENT", "employee.monthly_wage_rupiah: The wage cannot be negative."), (rows[1][5], rows[1][6]));
        Assert.Equal(("PERMISSION_DENIED", "The employer number is not yours."), (rows[2][5], rows[2][6]));
        Assert.Equal("INVALID_ARGUMENT", rows[3][5]);
        Assert.StartsWith("employee.birth_date: expected a date as YYYY-MM-DD or DD/MM/YYYY, got '31-02-1990'", rows[3][6]);
        Assert.Equal("employee.nik: A NIK has exactly 16 digits.", rows[4][6]);

        // Sending the same file again registers nothing twice.
        var again = await RunAsync(server.Address, "nonasn", "register", input, "-o", "json");
        Assert.Equal(1, again.ExitCode);
        var summary = Assert.Single(TestData.JsonLines(again.Output));
        Assert.Equal((5, 0, 1, 4), (summary.GetProperty("rows").GetInt32(), summary.GetProperty("registered").GetInt32(), summary.GetProperty("unchanged").GetInt32(), summary.GetProperty("rejected").GetInt32()));
        Assert.Equal("UNCHANGED", CsvFile.Read(resultsPath).Records[0].Fields[2]);
    }

    [Fact]
    public async Task AFileWithEveryRowGoodExitsZeroAndEmployerCanComeFromTheOption()
    {
        await using var server = await NonAsnAsync();
        var input = TestData.Temp("good.csv");
        var header = "nik,full_name,birth_date,sex,position,work_unit,employment_type,contract_start_date,monthly_wage_rupiah\n";
        await File.WriteAllTextAsync(input, header + string.Concat(Enumerable.Range(0, 50).Select(i => $"{TestData.NewNik()},Pegawai {i},1990-08-15,M,Staf,Dinas,PPNPN,2026-01-01,3000000\n")));
        var results = TestData.Temp("out.csv");

        var run = await RunAsync(server.Address, "nonasn", "register", input, "--employer", "11000001", "--results", results);
        Assert.True(run.ExitCode == 0, run.ToString());
        var written = CsvFile.Read(results);
        Assert.Equal(',', written.Delimiter);
        Assert.Equal(50, written.Records.Count);
        Assert.All(written.Records, r => Assert.Equal("REGISTERED", r.Fields[2]));
        Assert.Equal(Enumerable.Range(2, 50).Select(i => i.ToString()), written.Records.Select(r => r.Fields[1])); // row id: the line
    }

    [Fact]
    public async Task WhenTheWholeUploadFailsPartWayTheAnsweredRowsAreStillWrittenAndTheRestMarkedNotDone()
    {
        await using var server = await FakeServer.StartAsync(
            _ => { },
            app => app.MapGrpcService<FailingNonAsnService>());
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, StaffList(Enumerable.Range(1, 5).Select(i => $"R{i};11000001;{TestData.NewNik()};Pegawai {i};1990-08-15;M;Staf;Dinas;PPNPN;2026-01-01;;3000000").ToArray()));

        var run = await RunAsync(server.Address, "nonasn", "register", input);
        Assert.Equal(5, run.ExitCode);
        Assert.Contains("results so far", run.Error);
        var rows = CsvFile.Read(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv")).Records.Select(r => r.Fields).ToList();
        Assert.Equal(["REGISTERED", "REGISTERED", "NOT_DONE", "NOT_DONE", "NOT_DONE"], rows.Select(r => r[2]));
        Assert.Equal("UNAVAILABLE", rows[4][5]);
    }

    [Fact]
    public async Task AStaffListMissingColumnsIsInvalidInputAndNothingIsSent()
    {
        await using var server = await NonAsnAsync();
        var input = TestData.Temp("staff.csv");
        await File.WriteAllTextAsync(input, "nik,full_name\n3374011508900001,Siti\n");
        var run = await RunAsync(server.Address, "nonasn", "register", input);
        Assert.Equal(ExitCodes.InvalidInput, run.ExitCode);
        Assert.Contains("the CSV header lacks birth_date", run.Error);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(input)!, "staff.results.csv")));
    }

    public static string Recipients(int count, string cohort = "") =>
        "row_id,nik,cohort\n" + string.Concat(Enumerable.Range(0, count).Select(i => $"r{i},{(i % 7 == 3 ? "12345" : TestData.NewNik())},{cohort}\n"));

    [Fact]
    public async Task SubmitPrintsTheBatchIdAndTheDigestAndChecksItAgainstTheFile()
    {
        var (server, state) = await PrakerjaAsync();
        await using var _ = server;
        var input = TestData.Temp("recipients.csv");
        await File.WriteAllTextAsync(input, Recipients(5_000));

        var run = await RunAsync(server.Address, "prakerja", "submit", input, "--label", "Gelombang 45", "--cohort", "g45");
        Assert.True(run.ExitCode == 0, run.ToString());
        var batch = Assert.Single(state.Batches).Value.Batch;
        Assert.Contains($"batch id:     {batch.BatchId}", run.Output);
        Assert.Contains($"input digest: {Convert.ToHexStringLower(batch.InputSha256.Span)}", run.Output);
        Assert.Contains("recipients:   5,000", run.Output);
        Assert.Contains("exactly as read from the file", run.Output);

        var json = Assert.Single(TestData.JsonLines((await RunAsync(server.Address, "prakerja", "submit", input, "--label", "Gelombang 45", "--cohort", "g45", "-o", "json")).Output));
        Assert.True(json.GetProperty("digestMatches").GetBoolean());
        Assert.Equal(5_000, json.GetProperty("recipientCount").GetInt64());

        state.CorruptDigest = true;
        var corrupted = await RunAsync(server.Address, "prakerja", "submit", input, "--label", "Gelombang 45");
        Assert.Equal(1, corrupted.ExitCode);
        Assert.Contains("was not received as sent", corrupted.Error);
    }

    [Fact]
    public async Task ResultsDownloadsEveryRowThenPrintsTheTotals()
    {
        var (server, state) = await PrakerjaAsync();
        await using var _ = server;
        var batchId = await SubmitAsync(server.Address, 30);
        var output = TestData.Temp("results.csv");

        var run = await RunAsync(server.Address, "prakerja", "results", batchId, "--out", output);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("30 result(s) received, 30 of 30", run.Output);
        Assert.Contains("not registered", run.Output);
        Assert.Contains(run.Output.Split('\n'), line => line.Contains("all", StringComparison.Ordinal) && line.Contains(" 30 ", StringComparison.Ordinal));
        TestData.AssertComplete(output, 30);
    }

    [Fact]
    public async Task AnInterruptedDownloadResumesAfterTheLastRowWrittenWithoutDuplicates()
    {
        var (server, state) = await PrakerjaAsync();
        await using var _ = server;
        var batchId = await SubmitAsync(server.Address, 25);
        var output = TestData.Temp("results.csv");

        // The server sends 8 results and then nothing; the clerk presses Ctrl+C.
        state.HangAfter = 8;
        using var interrupt = new CancellationTokenSource();
        var running = suite.RunAsync(["--token-file", suite.TokenFile("kemnaker")], NoEnvironment, ["prakerja", "results", batchId, "--out", output, "--address", server.Address], interrupt.Token);
        await state.Hanging.Task.WaitAsync(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 100 && File.ReadAllLines(output).Length < 3; i++) await Task.Delay(50);
        await Task.Delay(200);
        interrupt.Cancel();
        var interrupted = await running;
        Assert.True(interrupted.ExitCode == 130, interrupted.ToString());
        Assert.Contains("interrupted", interrupted.Error);
        var kept = File.ReadAllLines(output).Length - 1;
        Assert.InRange(kept, 2, 8);

        state.HangAfter = null;
        var resumed = await RunAsync(server.Address, "prakerja", "results", batchId, "--out", output);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"resumed after offset {kept - 1}", resumed.Output);
        Assert.Equal([0L, kept], state.FromOffsets);
        TestData.AssertComplete(output, 25);
    }

    [Fact]
    public async Task ADroppedStreamReconnectsFromTheLastOffsetOnItsOwn()
    {
        var (server, state) = await PrakerjaAsync();
        await using var _ = server;
        var batchId = await SubmitAsync(server.Address, 20);
        var output = TestData.Temp("results.csv");
        state.FailOnceAfter = 6;

        var run = await RunAsync(server.Address, "prakerja", "results", batchId, "--out", output, "-o", "json");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal([0L, 6L], state.FromOffsets);
        var report = Assert.Single(TestData.JsonLines(run.Output));
        Assert.True(report.GetProperty("complete").GetBoolean());
        TestData.AssertComplete(output, 20);
    }

    [Fact]
    public async Task AnUnknownBatchIsNotFound()
    {
        var (server, _) = await PrakerjaAsync();
        await using var _2 = server;
        var run = await RunAsync(server.Address, "prakerja", "status", "no-such-batch");
        Assert.Equal(6, run.ExitCode);
        Assert.Contains("Not found", run.Error);
    }

    private async Task<string> SubmitAsync(string address, int count)
    {
        var input = TestData.Temp("recipients.csv");
        await File.WriteAllTextAsync(input, Recipients(count, "g45"));
        var submit = Assert.Single(TestData.JsonLines((await RunAsync(address, "prakerja", "submit", input, "--label", "L", "-o", "json")).Output));
        return submit.GetProperty("batchId").GetString()!;
    }
}
