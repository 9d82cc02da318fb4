namespace Verification.Cli.Tests;

public class BasicCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    [Fact]
    public async Task HealthListsTheServerAndEveryModuleAndSucceedsWhenAllAreServing()
    {
        var (exit, output, error) = await suite.RunAsync(null, "health");
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
        Assert.Contains("unavailable", error);
    }

    [Fact]
    public async Task AMistypedDateIsAUsageErrorNamingTheOption()
    {
        var (exit, _, error) = await suite.RunAsync("bank-bri", "kur", "list", "--from", "01/02/2026", "--to", "2026-02-28");
        Assert.Equal(2, exit);
        Assert.Contains("--from: expected a date as YYYY-MM-DD", error);
    }

    [Fact]
    public async Task WithoutCredentialsTheCallIsRefusedWithExitCodeThree()
    {
        var (exit, _, error) = await suite.RunAsync(null, "verify", "3374014501900001");
        Assert.Equal(3, exit);
        Assert.Contains("Not signed in", error);
    }
}
