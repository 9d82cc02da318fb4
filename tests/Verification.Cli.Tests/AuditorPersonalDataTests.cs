using Verification.Api.Audit.V1;

namespace Verification.Cli.Tests;

/// <summary>What an auditor's `audit trace` prints of a borrower: the events, never the name or the whole NIK.</summary>
public sealed class AuditorPersonalDataTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    [Fact]
    public async Task AnAuditorsTraceOfABorrowerPrintsNeitherTheNameNorTheWholeNikInEitherOutput()
    {
        var nik = TestData.NewNik();
        var enrol = await suite.RunAsync("bank-bri", TestData.Enrol(nik, TestData.NewLoan()));
        Assert.True(enrol.ExitCode == 0, enrol.ToString());
        Assert.Contains("Siti Rahayu", TestData.Enrol(nik, "x")); // the name the bank sent, so its absence below means something
        await suite.WaitForEntryAsync(new TraceRequest { Nik = nik }, e => e.EventType == "ParticipantEnrolled");
        await suite.WaitForEntryAsync(new TraceRequest { Nik = nik }, e => e.EventType == "KurBorrowerEnrolled");

        var table = await suite.RunAsync("auditor-bpk", "audit", "trace", "--nik", nik);
        var json = await suite.RunAsync("auditor-bpk", "audit", "trace", "--nik", nik, "-o", "json");
        Assert.Contains(TestData.JsonLines(json.Output), e => e.GetProperty("eventType").GetString() == "KurBorrowerEnrolled");
        foreach (var run in new[] { table, json })
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.DoesNotContain("Siti", run.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Rahayu", run.Output, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(nik, run.Output, StringComparison.Ordinal);
        }
    }
}
