using System.Text.Json;

namespace Verification.Cli.Tests;

/// <summary>
/// The exit-code contract over every command: the same failure gives the same code and a one-line message naming its
/// cause, in words or (with <c>--output json</c>) as a JSON document on stderr.
/// </summary>
public sealed class ExitCodeContractTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    /// <summary>One call of every command that talks to the server, with arguments that parse.</summary>
    public static TheoryData<string[]> EveryCommand() => new()
    {
        new[] { "health" },
        new[] { "whoami" },
        new[] { "verify", "3374451508900001" },
        new[] { "kur", "get", "SIKP-NONE" },
        new[] { "kur", "list", "--from", "01/11/2026", "--to", "2026-11-30" },
        new[] { "kur", "cancel", "SIKP-NONE", "--reason", "LOAN_REJECTED" },
        new[] { "kur", "report", "--from", "2026-01", "--to", "2026-11" },
        new[] { "kur", "enrol", "--loan", "SIKP-NONE", "--scheme", "MIKRO", "--amount", "50000000", "--disbursement-date", "2030-01-01", "--nik", "3374451508900001", "--name", "Siti", "--birth-date", "1990-08-15", "--sex", "M", "--sector", "47111", "--region", "3374", "--income", "3000000" },
        new[] { "nonasn", "list", "--employer", "73720001" },
        new[] { "nonasn", "statement", "--employer", "73720001", "--month", "2026-11" },
        new[] { "nonasn", "change-wage", "--nik", "3374451508900001", "--contract-start", "2026-01-01", "--wage", "1", "--from", "2026-01-01", "--employer", "73720001" },
        new[] { "nonasn", "extend", "--nik", "3374451508900001", "--contract-start", "2026-01-01", "--until", "2027-01-01", "--employer", "73720001" },
        new[] { "nonasn", "end", "--nik", "3374451508900001", "--date", "2026-01-01", "--reason", "RESIGNED", "--employer", "73720001" },
        new[] { "prakerja", "status", "00000000-0000-0000-0000-000000000000" },
        new[] { "audit", "trace", "--nik", "3374451508900001" },
    };

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task AnAddressThatIsNotOneIsUsageNamingTheOption(string[] command)
    {
        var run = await suite.RunAsync("bank-bri", [.. command, "--address", "foo"]);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --address: expected http://host:port", line);
        Assert.Equal("", run.Output);

        var json = await suite.RunAsync("bank-bri", [.. command, "--address", "foo", "-o", "json"]);
        Assert.Equal(ExitCodes.Usage, json.ExitCode);
        var error = JsonDocument.Parse(json.Error.Trim()).RootElement.GetProperty("error");
        Assert.Equal("USAGE", error.GetProperty("kind").GetString());
        Assert.Equal(ExitCodes.Usage, error.GetProperty("exitCode").GetInt32());
    }

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task NoServerThereIsUnavailable(string[] command)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var run = await suite.RunAsync("bank-bri", [.. command, "--address", $"http://127.0.0.1:{port}", "--timeout", "5"]);
        Assert.True(run.ExitCode == ExitCodes.Unavailable, run.ToString());
    }

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task WithoutCredentialsEveryCommandButHealthIsAccessDenied(string[] command)
    {
        // Health is the one unauthenticated call: it waits for every module to serve, as a probe would.
        var run = await suite.RunAsync(null, command[0] == "health" ? [.. command, "--wait", "60"] : command);
        var expected = command[0] == "health" ? ExitCodes.Ok : ExitCodes.AccessDenied;
        Assert.True(run.ExitCode == expected, run.ToString());
    }

    [Fact]
    public async Task APrivateKeyGivenAsThePublicKeyIsUsageNamingTheOption()
    {
        var run = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.SigningKeyFile, "--state", TestData.Temp("head.json"));
        Assert.True(run.ExitCode == ExitCodes.Usage, run.ToString());
        Assert.Contains("--public-key:", run.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("row_id,nik,cohort\n")]
    public async Task AnEmptyOrHeaderOnlyFileIsInvalidInputForEveryFileCommand(string content)
    {
        foreach (var (member, args) in new (string, string[])[]
        {
            ("pemkot-parepare", ["nonasn", "register"]),
            ("prakerja-pmo", ["prakerja", "submit", "--label", "empty"]),
            ("pemkot-parepare", ["nonasn", "end", "--file"]),
        })
        {
            var file = TestData.Temp("list.csv");
            await File.WriteAllTextAsync(file, content);
            var run = await suite.RunAsync(member, [.. args, file]);
            Assert.True(run.ExitCode == ExitCodes.InvalidInput, string.Join(' ', args) + ": " + run);
        }

        var notUtf8 = TestData.Temp("latin1.csv");
        await File.WriteAllBytesAsync(notUtf8, [.. "nik,full_name\n3374451508900001,"u8, 0xC9, 0x0A]);
        Assert.Equal(ExitCodes.InvalidInput, (await suite.RunAsync("pemkot-parepare", "nonasn", "register", notUtf8)).ExitCode);
    }
}
