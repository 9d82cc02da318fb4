using Grpc.Core;
using Verification.Api.Audit.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Verification.Platform.Access;

namespace Verification.Cli.Tests;

/// <summary>Traces an auditor can rely on: everything about a person, who acted through which module, and denials that say what they refused.</summary>
public sealed class AuditTraceTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private async Task<(string Nik, string Loan)> EnrolAsync()
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        var run = await suite.RunAsync("bank-bri", TestData.Enrol(nik, loan));
        Assert.True(run.ExitCode == 0, run.ToString());
        return (nik, loan);
    }

    [Fact]
    public async Task ATraceByNikHasTheParticipantsCoverageAndTheCancellationOfTheirLoan()
    {
        var (nik, loan) = await EnrolAsync();
        using var channel = suite.Channel("bank-bri");
        await new KurService.KurServiceClient(channel).CancelEnrolmentAsync(new CancelEnrolmentRequest { BankCode = "002", LoanReference = loan, Reason = CancellationReason.LoanRejected });
        await suite.WaitForEntryAsync(new TraceRequest { LoanReference = loan }, e => e.EventType == "KurEnrolmentCancelled");
        await suite.WaitForEntryAsync(new TraceRequest { EventType = "CoverageEnded" }, e => e.Keys.ChannelReference() == "002");

        var run = await suite.RunAsync("auditor-bpk", "audit", "trace", "--nik", nik, "-o", "json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var types = TestData.JsonLines(run.Output).Select(e => e.GetProperty("eventType").GetString()).ToList();
        foreach (var expected in new[] { "ParticipantEnrolled", "CoverageStarted", "KurBorrowerEnrolled", "KurEnrolmentCancelled", "CoverageEnded" })
            Assert.Contains(expected, types);
        Assert.DoesNotContain(nik, run.Output);
    }

    [Fact]
    public async Task MembershipsEventsNameTheBankThatActedAndTheModuleThatRelayedIt()
    {
        var (nik, _) = await EnrolAsync();
        var enrolled = await suite.WaitForEntryAsync(new TraceRequest { Nik = nik }, e => e.EventType == "ParticipantEnrolled");
        Assert.Equal("bank-bri", enrolled.ActingMemberCode);
        Assert.Contains("\"relayedBy\":\"kur\"", enrolled.CanonicalBytes.ToStringUtf8());

        var human = await suite.RunAsync("auditor-bpk", "audit", "trace", "--nik", nik);
        Assert.Contains("relayed by kur", human.Output);
    }

    [Fact]
    public async Task APartnerNamingAnotherMemberItActsForIsRefusedAndAudited()
    {
        using var channel = suite.Channel("bank-bri");
        var headers = new Metadata { { CallerContext.OnBehalfOfHeader, "bank-bni" } };
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new MembershipService.MembershipServiceClient(channel).VerifyMembershipAsync(new VerifyMembershipRequest { Nik = TestData.NewNik() }, headers));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        var denial = await suite.WaitForEntryAsync(new TraceRequest { EventType = "AccessDenied" }, e => e.CanonicalBytes.ToStringUtf8().Contains("ON_BEHALF_OF_NOT_ALLOWED", StringComparison.Ordinal));
        Assert.Equal("bank-bri", denial.ActingMemberCode);
    }

    [Fact]
    public async Task ADenialNamesItsMethodReasonAndLoanAndATraceByThatLoanListsIt()
    {
        var loan = TestData.NewLoan();
        var run = await suite.RunAsync("bank-bri", TestData.Enrol(TestData.NewNik(), loan, bankCode: "009"));
        Assert.Equal(3, run.ExitCode);

        var denial = await suite.WaitForEntryAsync(new TraceRequest { LoanReference = loan }, e => e.EventType == "AccessDenied");
        var bytes = denial.CanonicalBytes.ToStringUtf8();
        Assert.Contains("\"reasonCode\":\"BANK_CODE_NOT_OWN\"", bytes);
        Assert.Contains("\"rpcMethod\":\"/verification.kur.v1.KurService/EnrolBorrower\"", bytes);
        Assert.Contains($"\"loanReference\":\"{loan}\"", bytes);
        Assert.Equal("009", denial.Keys.MemberCode);

        // What the trace's detail column shows, read from the entry's own bytes.
        Assert.Equal($"denied /verification.kur.v1.KurService/EnrolBorrower; BANK_CODE_NOT_OWN; bank 009, loan {loan}", Commands.AuditCommands.Detail(denial));
        var trace = await suite.RunAsync("auditor-bpk", "audit", "trace", "--loan", loan);
        Assert.Equal(0, trace.ExitCode);
        Assert.Contains("AccessDenied", trace.Output);
    }
}

internal static class SearchKeysText
{
    /// <summary>The channel reference is not a search key of its own: coverage events file it as the member concerned.</summary>
    public static string ChannelReference(this SearchKeys keys) => keys.MemberCode;
}
