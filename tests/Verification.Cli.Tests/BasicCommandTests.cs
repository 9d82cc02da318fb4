namespace Verification.Cli.Tests;

public class BasicCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    [Fact]
    public async Task HealthListsTheServerAndEveryModuleAndSucceedsWhenAllAreServing()
    {
        var (exit, output, error) = await suite.RunAsync(null, "health");
        for (var i = 0; i < 100 && exit != 0; i++)
        {
            // A module reports NOT_SERVING until its first database probe succeeds (every 2 s; slow on a loaded machine).
            Assert.Equal(1, exit);
            Assert.Contains("NOT_SERVING", output);
            await Task.Delay(200);
            (exit, output, error) = await suite.RunAsync(null, "health");
        }
        Assert.True(exit == 0, output + error);
        Assert.Contains("(server)", output);
        Assert.Contains("verification.membership.v1.MembershipService", output);
        Assert.Contains("SERVING", output);
    }

    [Fact]
    public async Task HealthAsJsonIsOneDocumentScriptsCanParse()
    {
        var (exit, output, _) = await suite.RunAsync(null, "health", "--output", "json");
        Assert.Equal(0, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("SERVING", json.RootElement.GetProperty("(server)").GetString());
    }

    [Fact]
    public async Task AnUnreachableServerIsExitCodeFiveWithAPlainMessage()
    {
        var (exit, _, error) = await suite.RunAsync(null, "health", "--address", "http://127.0.0.1:1");
        Assert.Equal(5, exit);
        Assert.Contains("unavailable", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AMistypedDateIsAUsageErrorNamingTheOption()
    {
        var (exit, _, error) = await suite.RunAsync("bank-bri", "kur", "list", "--from", "1 Feb 2026", "--to", "2026-02-28");
        Assert.Equal(2, exit);
        Assert.Contains("--from: expected a date as YYYY-MM-DD or DD/MM/YYYY, got '1 Feb 2026'", error);

        // The form the CSV files accept is accepted on the command line too.
        var spreadsheetForm = await suite.RunAsync("bank-bri", "kur", "list", "--from", "01/02/2026", "--to", "28/02/2026");
        Assert.True(spreadsheetForm.ExitCode == 0, spreadsheetForm.ToString());
    }

    [Fact]
    public async Task WithoutCredentialsTheCallIsRefusedWithExitCodeThree()
    {
        var (exit, _, error) = await suite.RunAsync(null, "verify", "3374014501900001");
        Assert.Equal(3, exit);
        Assert.Contains("Not signed in", error);
    }

    [Fact]
    public async Task TheTokenFileCanComeFromTheEnvironment()
    {
        var env = new Dictionary<string, string> { ["VERIFICATION_TOKEN_FILE"] = suite.TokenFile("bank-bri") };
        var run = await suite.RunAsync([], env, ["verify", TestData.NewNik()], CancellationToken.None);
        // Exit 1 is the registry's "no": the call itself worked.
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());
        Assert.Contains("NOT COVERED", run.Output);
    }

    [Fact]
    public async Task TheTokenItselfCanComeFromTheEnvironmentAndTheAddressToo()
    {
        var env = new Dictionary<string, string> { ["VERIFICATION_TOKEN"] = suite.Token("bank-bri") + "\n", ["VERIFICATION_ADDRESS"] = suite.Address };
        var run = await suite.RunAsync([], env, ["verify", TestData.NewNik()], CancellationToken.None);
        // Signed in and answered: NOT COVERED (exit 1), not refused (3).
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());
    }

    [Fact]
    public async Task TheTokenFileOptionWinsOverTheEnvironment()
    {
        var env = new Dictionary<string, string> { ["VERIFICATION_TOKEN"] = "not-a-token" };
        var run = await suite.RunAsync(["--token-file", suite.TokenFile("bank-bri")], env, ["verify", TestData.NewNik()], CancellationToken.None);
        // Signed in and answered: NOT COVERED (exit 1), not refused (3).
        Assert.True(run.ExitCode == ExitCodes.No, run.ToString());

        var wrong = await suite.RunAsync([], env, ["verify", TestData.NewNik()], CancellationToken.None);
        Assert.Equal(3, wrong.ExitCode);
        Assert.Contains("Not signed in", wrong.Error);
    }

    [Fact]
    public async Task ThereIsNoOptionThatTakesATokenOnTheCommandLine()
    {
        var run = await suite.RunAsync(null, "verify", TestData.NewNik(), "--token", suite.Token("bank-bri"));
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain(suite.Token("bank-bri"), run.Output + run.Error);
    }

    [Fact]
    public async Task AMissingTokenFileIsAUsageErrorNamingIt()
    {
        var run = await suite.RunAsync(["--token-file", "/nonexistent/bank.token"], new Dictionary<string, string>(), ["verify", TestData.NewNik()], CancellationToken.None);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("/nonexistent/bank.token", run.Error);
    }

    [Fact]
    public async Task AMissingArgumentIsExitCodeTwoAndHelpListsTheCommandsAndExitCodes()
    {
        var missing = await suite.RunAsync("bank-bri", "kur", "get");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Run with --help", missing.Error);

        var help = await suite.RunAsync(null, "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { "health", "verify", "kur", "nonasn", "prakerja", "audit", "Exit codes: 0 yes/done, 1 no (NOT COVERED" }) Assert.Contains(command, help.Output);

        var subHelp = await suite.RunAsync(null, "nonasn", "register", "--help");
        Assert.Equal(0, subHelp.ExitCode);
        Assert.Contains("employment_type", subHelp.Output);
    }

    [Fact]
    public async Task AnAuditorHealthCheckNeedsNoCredentialsAndJsonListsEveryModule()
    {
        // Modules probe their database every 2 s from start-up (a probe may time out on a loaded machine): give them a moment.
        var (exit, output, _) = await suite.RunAsync(null, "health", "-o", "json");
        for (var i = 0; i < 100 && (exit != 0 || output.Contains("NOT_", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(200);
            (exit, output, _) = await suite.RunAsync(null, "health", "-o", "json");
        }
        Assert.True(exit == 0, output);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        foreach (var service in new[] { "verification.membership.v1.MembershipService", "verification.kur.v1.KurService", "verification.audit.v1.AuditService" })
            Assert.True(json.RootElement.GetProperty(service).GetString() == "SERVING", output);
    }
}
