namespace Verification.Cli.Tests;

/// <summary><c>verify</c> and <c>kur …</c> end to end: the CLI against the monolithic host, through the real wire.</summary>
public sealed class KurAndVerifyCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    [Fact]
    public async Task VerifySaysNotCoveredForANikNobodyEnrolled()
    {
        var run = await suite.RunAsync("bank-bri", "verify", TestData.NewNik());
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());
        Assert.Contains("NOT COVERED", run.Output);
        Assert.Matches("status: +NOT_REGISTERED", run.Output);

        var json = await suite.RunAsync("bank-bri", "verify", TestData.NewNik(), "--output", "json");
        Assert.Equal(ExitCodes.No, json.ExitCode);
        var answer = Assert.Single(TestData.JsonLines(json.Output));
        Assert.False(answer.GetProperty("covered").GetBoolean());
        Assert.Equal("MEMBERSHIP_STATUS_NOT_REGISTERED", answer.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AfterKurEnrolmentVerifySaysCoveredWithTheProgramsAndSegment()
    {
        var nik = TestData.NewNik();
        var enrol = await suite.RunAsync("bank-bri", TestData.Enrol(nik, TestData.NewLoan()));
        Assert.True(enrol.ExitCode == 0, enrol.ToString());

        var run = await suite.RunAsync("bank-bri", "verify", nik);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("COVERED", run.Output);
        Assert.DoesNotContain("NOT COVERED", run.Output);
        Assert.Matches("programs: +JKK,JKM", run.Output);
        Assert.Matches("segment: +BPU", run.Output);

        var json = Assert.Single(TestData.JsonLines((await suite.RunAsync("bank-bri", "verify", nik, "-o", "json")).Output));
        Assert.True(json.GetProperty("covered").GetBoolean());
        Assert.Equal("SEGMENT_BPU", json.GetProperty("segment").GetString());
    }

    [Fact]
    public async Task AnInvalidNikPrintsTheFieldViolationInPlainWordsWithExitCodeFour()
    {
        var run = await suite.RunAsync("bank-bri", "verify", "33740115089");
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("error: The request has mistakes: [InvalidArgument]", run.Error);
        Assert.Contains("  - nik: A NIK has exactly 16 digits.", run.Error);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public async Task AFutureAsOfDateIsRefusedAndAMistypedOneIsAUsageError()
    {
        var future = await suite.RunAsync("bank-bri", "verify", TestData.NewNik(), "--as-of", DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd"));
        Assert.Equal(4, future.ExitCode);
        Assert.Contains("as_of_date", future.Error);

        var mistyped = await suite.RunAsync("bank-bri", "verify", TestData.NewNik(), "--as-of", "31-12-2025");
        Assert.Equal(2, mistyped.ExitCode);
        Assert.Contains("--as-of: expected a date as YYYY-MM-DD", mistyped.Error);
    }

    [Fact]
    public async Task KurEnrolEnrolsOnceAndRepeatingItGivesTheSameAnswer()
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        var first = await suite.RunAsync("bank-bri", TestData.Enrol(nik, loan));
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("ENROLLED", first.Output);
        Assert.Matches("programs: +JKK,JKM", first.Output);
        Assert.Matches(@"participant number: +\d{11}", first.Output);
        Assert.Matches(@"monthly contribution: +Rp36\.800", first.Output);

        var again = await suite.RunAsync("bank-bri", [.. TestData.Enrol(nik, loan), "--output", "json"]);
        Assert.True(again.ExitCode == 0, again.ToString());
        var json = Assert.Single(TestData.JsonLines(again.Output));
        Assert.Equal("ENROLMENT_OUTCOME_ENROLLED", json.GetProperty("outcome").GetString());
        Assert.Contains(json.GetProperty("participantNumber").GetString()!, first.Output);
    }

    [Fact]
    public async Task KurEnrolWithBadFieldsListsEveryViolationOnItsOwnLine()
    {
        var args = TestData.Enrol(TestData.NewNik(), TestData.NewLoan());
        args[Array.IndexOf(args, "--region") + 1] = "337";
        args[Array.IndexOf(args, "--nik") + 1] = "3374011508900000";
        var run = await suite.RunAsync("bank-bri", args);
        Assert.Equal(4, run.ExitCode);
        var violations = run.Error.Split('\n').Where(l => l.StartsWith("  - ", StringComparison.Ordinal)).ToList();
        Assert.Contains(violations, l => l.StartsWith("  - borrower.nik: ", StringComparison.Ordinal));
        Assert.Contains(violations, l => l.StartsWith("  - borrower.region_code: ", StringComparison.Ordinal));
        Assert.DoesNotContain("3374011508900000", run.Error);
    }

    [Fact]
    public async Task EnrollingForAnotherBanksCodeIsNotAllowedWithExitCodeThree()
    {
        var run = await suite.RunAsync("bank-bni", TestData.Enrol(TestData.NewNik(), TestData.NewLoan(), bankCode: "002"));
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("Not allowed", run.Error);
    }

    [Fact]
    public async Task KurGetShowsTheRecordHumanAndJsonAndAnUnknownLoanIsExitCodeSix()
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        Assert.Equal(0, (await suite.RunAsync("bank-bri", TestData.Enrol(nik, loan))).ExitCode);

        var human = await suite.RunAsync("bank-bri", "kur", "get", loan);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains(loan, human.Output);
        Assert.Contains(nik[..4] + "••••••••" + nik[12..], human.Output);
        Assert.DoesNotContain(nik, human.Output);
        Assert.Contains("MIKRO", human.Output);
        Assert.Contains("Rp50.000.000", human.Output);

        var json = Assert.Single(TestData.JsonLines((await suite.RunAsync("bank-bri", "kur", "get", loan, "-o", "json")).Output));
        Assert.Equal(loan, json.GetProperty("loanReference").GetString());
        Assert.Equal("ENROLMENT_STATE_ACTIVE", json.GetProperty("state").GetString());

        var unknown = await suite.RunAsync("bank-bri", "kur", "get", TestData.NewLoan());
        Assert.Equal(6, unknown.ExitCode);
        Assert.Contains("Not found", unknown.Error);

        var otherBank = await suite.RunAsync("bank-bni", "kur", "get", loan);
        Assert.NotEqual(0, otherBank.ExitCode);
        Assert.DoesNotContain(nik[..4] + "••••••••", otherBank.Output);
    }

    [Fact]
    public async Task KurListShowsTodaysEnrolmentsOfTheBankHumanAndJson()
    {
        var loans = new[] { TestData.NewLoan(), TestData.NewLoan() };
        foreach (var loan in loans) Assert.Equal(0, (await suite.RunAsync("bank-bri", TestData.Enrol(TestData.NewNik(), loan))).ExitCode);

        var human = await suite.RunAsync("bank-bri", "kur", "list", "--from", TestData.Today, "--to", TestData.Today);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.All(loans, loan => Assert.Contains(loan, human.Output));
        Assert.Matches(@"\d+ record\(s\)", human.Output);

        var json = TestData.JsonLines((await suite.RunAsync("bank-bri", "kur", "list", "--from", TestData.Today, "--to", TestData.Today, "--output", "json")).Output);
        var listed = json.Select(e => e.GetProperty("loanReference").GetString()).ToList();
        Assert.All(loans, loan => Assert.Single(listed, l => l == loan));

        var otherBank = await suite.RunAsync("bank-bni", "kur", "list", "--from", TestData.Today, "--to", TestData.Today, "-o", "json");
        Assert.Equal(0, otherBank.ExitCode);
        Assert.All(loans, loan => Assert.DoesNotContain(loan, otherBank.Output));
    }

    [Fact]
    public async Task KurReportCountsTheMonthsEnrolmentsHumanAndJson()
    {
        Assert.Equal(0, (await suite.RunAsync("bank-bri", TestData.Enrol(TestData.NewNik(), TestData.NewLoan()))).ExitCode);
        var month = TestData.Today[..7];

        var human = await suite.RunAsync("bank-bri", "kur", "report", "--from", month, "--to", month);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("newly enrolled", human.Output);
        Assert.Contains(month, human.Output);
        Assert.Contains("MIKRO", human.Output);

        var json = Assert.Single(TestData.JsonLines((await suite.RunAsync("bank-bri", "kur", "report", "--from", month, "--to", month, "--scheme", "MIKRO", "-o", "json")).Output));
        var row = Assert.Single(json.GetProperty("rows").EnumerateArray(), r => r.GetProperty("bankCode").GetString() == "002");
        Assert.True(long.Parse(row.GetProperty("newlyEnrolled").GetString()!) >= 1);

        var badMonth = await suite.RunAsync("bank-bri", "kur", "report", "--from", "2026/01", "--to", month);
        Assert.Equal(2, badMonth.ExitCode);
        Assert.Contains("--from: expected a month as YYYY-MM", badMonth.Error);
    }
}
