using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;
using Verification.Testing;

namespace Verification.NonAsn.Tests;

/// <summary>
/// Membership down, Membership's answers lost after it acted, and concurrent requests meeting at the same step, on both
/// providers: nothing is half-done, a retry finishes the work once, and concurrent writers settle on one record.
/// </summary>
public sealed class MembershipFaultTests(MembershipFaultsFixture fixture) : IClassFixture<MembershipFaultsFixture>
{
    [Theory, BothProviders]
    public async Task RowsSentWhileMembershipIsDownAreAnsweredUnavailableRecordNothingAndRegisterWhenSentAgain(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var client = host.NonAsn(TestData.Parepare);
        var rows = Enumerable.Range(0, 20).Select(i => TestData.Row($"down-{i}", TestData.Employee(), TestData.ParepareEmployer)).ToList();
        rows.Add(TestData.Row("bad", TestData.Employee(wage: -1), TestData.ParepareEmployer));

        faults.Down = true;
        var (first, firstSummary) = await Upload.RunAsync(client, rows);
        faults.Down = false;

        Assert.Equal((21L, 0L, 0L, 21L), (firstSummary.Rows, firstSummary.Registered, firstSummary.Unchanged, firstSummary.Rejected));
        Assert.All(first.Take(20), r => Assert.Equal((RegistrationOutcome.Rejected, Code.Unavailable, ""), (r.Outcome, r.Error.Code, r.EmploymentId)));
        Assert.Equal(Code.InvalidArgument, first[20].Error.Code);
        var niks = rows.Take(20).Select(r => r.Employee.Nik).ToHashSet();
        Assert.DoesNotContain(await UploadTests.ListAsync(client, TestData.ParepareEmployer), e => niks.Contains(e.Employee.Nik));

        var (second, secondSummary) = await Upload.RunAsync(client, rows);

        Assert.Equal((21L, 20L, 0L, 1L), (secondSummary.Rows, secondSummary.Registered, secondSummary.Unchanged, secondSummary.Rejected));
        var ids = second.Take(20).Select(r => r.EmploymentId).ToHashSet();
        await EventLog.WaitForAsync(() => ids.All(id => host.Events.Registered.Any(e => e.EmploymentId == id)), "NonAsnEmployeeRegistered");
        Assert.Equal(20, (await UploadTests.ListAsync(client, TestData.ParepareEmployer)).Count(e => niks.Contains(e.Employee.Nik)));
    }

    [Theory, BothProviders]
    public async Task RowsWhoseEnrolmentAnswerWasLostRegisterWhenSentAgainWithTheParticipantsMembershipEnrolledOnce(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var client = host.NonAsn();
        var rows = Enumerable.Range(0, 20).Select(i => TestData.Row($"lost-{i}", TestData.Employee())).ToList();

        faults.LoseNextAnswers(int.MaxValue);
        var (first, _) = await Upload.RunAsync(client, rows);
        faults.Clear();

        Assert.All(first, r => Assert.Equal(Code.Unavailable, r.Error.Code));
        // Membership is ahead: it enrolled the employees, while NonAsn recorded none of them.
        var participants = new List<string>();
        foreach (var row in rows)
            participants.Add((await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = row.Employee.Nik })).Participant.ParticipantNumber);
        var niks = rows.Select(r => r.Employee.Nik).ToHashSet();
        Assert.DoesNotContain(await UploadTests.ListAsync(client, TestData.KemnakerEmployer), e => niks.Contains(e.Employee.Nik));

        var (second, summary) = await Upload.RunAsync(client, rows);

        Assert.Equal(20L, summary.Registered);
        Assert.Equal(participants, second.Select(r => r.ParticipantNumber));
        await host.Events.AssertRegisteredOnceAsync(second);
    }

    [Theory, BothProviders]
    public async Task TwoUploadsOfTheSameNewRowMeetingAtTheInsertRegisterItOnceAndAnswerTheOtherUnchanged(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var row = TestData.Row("meet", TestData.Employee());

        // Both find no employment and both enrol (Membership answers both alike); then both insert.
        fixture.Faults(provider).GatherNextCalls(2);
        var uploads = await Task.WhenAll(Upload.RunAsync(host.NonAsn(), [row]), Upload.RunAsync(host.NonAsn(), [row]));

        var results = uploads.Select(u => u.Rows.Single()).ToList();
        Assert.Equal([RegistrationOutcome.Registered, RegistrationOutcome.Unchanged], results.Select(r => r.Outcome).Order());
        Assert.Single(results.Select(r => (r.EmploymentId, r.ParticipantNumber)).Distinct());
        Assert.Single(await UploadTests.ListAsync(host.NonAsn(), TestData.KemnakerEmployer), e => e.Employee.Nik == row.Employee.Nik);
        await EventLog.WaitForAsync(() => host.Events.Registered.Any(e => e.EmploymentId == results[0].EmploymentId), "NonAsnEmployeeRegistered");
        await Task.Delay(300);
        Assert.Single(host.Events.Registered, e => e.EmploymentId == results[0].EmploymentId);
    }

    [Theory, BothProviders]
    public async Task AnEndWhoseCoverageAnswerWasLostIsUnavailableAndTheRetryEndsTheEmploymentOnce(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var employee = TestData.Employee(programs: [Program.Jkk, Program.Jkm, Program.Jht]);
        var employment = (await host.NonAsn().RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = employee })).Employment;
        var endDate = TestData.Today.AddDays(3);
        var end = new EndEmploymentRequest { EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, EndDate = TestData.ToApi(endDate), Reason = EmploymentEndReason.Resigned };

        faults.LoseNextAnswers(1);
        var lost = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => host.NonAsn().EndEmploymentAsync(end).ResponseAsync);

        Assert.NotNull(lost.GetDetail<RetryInfo>());
        Assert.Equal(EmploymentState.Active, (await EmploymentAsync(host, employee.Nik)).State);
        // Membership is ahead: the coverage has ended there.
        Assert.All(await CoveragesAsync(host, employee.Nik), c => Assert.Equal(TestData.ToApi(endDate), c.EndDate));

        var ended = await host.NonAsn().EndEmploymentAsync(end);

        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht], ended.EndedPrograms);
        Assert.Equal((EmploymentState.Ended, TestData.ToApi(endDate)), (ended.Employment.State, ended.Employment.EndDate));
        await EventLog.WaitForAsync(() => host.Events.Ended.Any(e => e.EmploymentId == employment.EmploymentId), "NonAsnEmploymentEnded");
        await EventLog.WaitForAsync(() => host.Events.CoverageEnded.Any(e => e.ParticipantNumber == employment.ParticipantNumber), "CoverageEnded");
        await Task.Delay(300);
        Assert.Single(host.Events.Ended, e => e.EmploymentId == employment.EmploymentId);
        Assert.Single(host.Events.CoverageEnded, e => e.ParticipantNumber == employment.ParticipantNumber);
    }

    [Theory, BothProviders]
    public async Task TwoEndsOfOneEmploymentMeetingAtTheSaveBothAnswerTheEndAndRecordItOnce(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var employee = TestData.Employee();
        var employment = (await host.NonAsn().RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = employee })).Employment;
        var end = new EndEmploymentRequest { EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, EndDate = TestData.ToApi(TestData.Today), Reason = EmploymentEndReason.ContractEnded };

        // Both read the employment active and both tell Membership; then both save, and the second finds it changed.
        fixture.Faults(provider).GatherNextCalls(2);
        var answers = await Task.WhenAll(host.NonAsn().EndEmploymentAsync(end).ResponseAsync, host.NonAsn().EndEmploymentAsync(end).ResponseAsync);

        Assert.Equal(answers[0], answers[1]);
        Assert.Equal((EmploymentState.Ended, EmploymentEndReason.ContractEnded), (answers[0].Employment.State, answers[0].Employment.EndReason));
        Assert.Equal([Program.Jkk, Program.Jkm], answers[0].EndedPrograms);
        await EventLog.WaitForAsync(() => host.Events.Ended.Any(e => e.EmploymentId == employment.EmploymentId), "NonAsnEmploymentEnded");
        await Task.Delay(300);
        Assert.Single(host.Events.Ended, e => e.EmploymentId == employment.EmploymentId);
    }

    [Theory, BothProviders]
    public async Task WhileMembershipIsDownExtensionsEndsAndStatementsAreUnavailableWithARetryDelayAndChangeNothing(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var employee = TestData.Employee();
        var employment = (await host.NonAsn().RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = employee })).Employment;
        var client = host.NonAsn();

        faults.Down = true;
        var failures = new[]
        {
            await RpcAssert.FailsAsync(StatusCode.Unavailable, () => client.UpdateEmploymentAsync(new UpdateEmploymentRequest
            {
                EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, ContractStartDate = employee.ContractStartDate, ContractEndDate = TestData.ToApi(TestData.Today.AddYears(3)),
            }).ResponseAsync),
            await RpcAssert.FailsAsync(StatusCode.Unavailable, () => client.EndEmploymentAsync(new EndEmploymentRequest
            {
                EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, EndDate = TestData.ToApi(TestData.Today), Reason = EmploymentEndReason.Dismissed,
            }).ResponseAsync),
            await RpcAssert.FailsAsync(StatusCode.Unavailable, async () =>
            {
                using var call = client.GetContributionStatement(new GetContributionStatementRequest
                {
                    EmployerNumber = TestData.KemnakerEmployer, Month = new YearMonth { Year = TestData.Today.Year, Month = TestData.Today.Month },
                });
                while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
            }),
        };
        faults.Down = false;

        Assert.All(failures, f => Assert.NotNull(f.GetDetail<RetryInfo>()));
        Assert.Equal(employment, await EmploymentAsync(host, employee.Nik));
    }

    private static async Task<Employment> EmploymentAsync(NonAsnHost host, string nik) =>
        (await UploadTests.ListAsync(host.NonAsn(), TestData.KemnakerEmployer)).Single(e => e.Employee.Nik == nik);

    private static async Task<IReadOnlyList<Coverage>> CoveragesAsync(NonAsnHost host, string nik) =>
        (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = nik })).Participant.Coverages;
}
