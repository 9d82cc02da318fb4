using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.NonAsn.Tests;

/// <summary>UpdateEmployment and EndEmployment with the real Membership: the coverage follows the contract.</summary>
public sealed class ChangeTests(MonolithicHostsFixture fixture) : IClassFixture<MonolithicHostsFixture>
{
    [Theory, BothProviders]
    public async Task AWageChangeIsRecordedOnceWithItsEventAndRepeatingItIsANoOp(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var (employee, employment) = await RegisterAsync(host);
        var request = new UpdateEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, ContractStartDate = employee.ContractStartDate,
            MonthlyWageRupiah = 4_500_000, WageEffectiveDate = TestData.ToApi(TestData.Today.AddDays(-3)),
        };

        var updated = (await host.NonAsn().UpdateEmploymentAsync(request)).Employment;
        var repeated = (await host.NonAsn().UpdateEmploymentAsync(request)).Employment;

        Assert.Equal(4_500_000, updated.Employee.MonthlyWageRupiah);
        Assert.Equal(updated, repeated);
        Assert.True(updated.UpdateTime.ToDateTimeOffset() > employment.CreateTime.ToDateTimeOffset());
        await EventLog.WaitForAsync(() => host.Events.WageChanged.Any(e => e.EmploymentId == employment.EmploymentId), "NonAsnWageChanged");
        await Task.Delay(300);
        var changed = Assert.Single(host.Events.WageChanged, e => e.EmploymentId == employment.EmploymentId);
        Assert.Equal((4_000_000L, 4_500_000L, employment.ParticipantNumber), (changed.PreviousMonthlyWage, changed.MonthlyWage, changed.ParticipantNumber));

        var outside = request.Clone();
        outside.MonthlyWageRupiah = 5_000_000;
        outside.WageEffectiveDate = TestData.ToApi(TestData.Today.AddYears(2));
        var violations = await RpcAssert.ViolationsAsync(() => host.NonAsn().UpdateEmploymentAsync(outside).ResponseAsync);
        Assert.Equal([("wage_effective_date", "WAGE_EFFECTIVE_OUTSIDE_CONTRACT")], violations);
        var missing = request.Clone();
        missing.WageEffectiveDate = null;
        Assert.Equal([("wage_effective_date", "DATE_MISSING")], await RpcAssert.ViolationsAsync(() => host.NonAsn().UpdateEmploymentAsync(missing).ResponseAsync));
    }

    [Theory, BothProviders]
    public async Task AnExtensionMovesTheCoverageEndAndEndingTheEmploymentEndsTheCoverageInMembership(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var (employee, employment) = await RegisterAsync(host, programs: [Program.Jkk, Program.Jkm, Program.Jht]);
        var extendedEnd = TestData.Today.AddYears(2);
        var extended = (await host.NonAsn().UpdateEmploymentAsync(new UpdateEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, ContractStartDate = employee.ContractStartDate, ContractEndDate = TestData.ToApi(extendedEnd),
        })).Employment;
        Assert.Equal(TestData.ToApi(extendedEnd), extended.Employee.ContractEndDate);
        var coverages = await CoveragesAsync(host, employee.Nik);
        Assert.All(coverages, c => Assert.Equal((TestData.ToApi(extendedEnd), CoverageEndReason.Unspecified), (c.EndDate, c.EndReason)));
        await EventLog.WaitForAsync(() => host.Events.WageChanged.Any(e => e.EmploymentId == employment.EmploymentId && e.EmployedUntil is not null), "NonAsnWageChanged for the extension");

        var endDate = TestData.Today.AddDays(10);
        var end = new EndEmploymentRequest { EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, EndDate = TestData.ToApi(endDate), Reason = EmploymentEndReason.AppointedAsn };
        var ended = await host.NonAsn().EndEmploymentAsync(end);
        var repeated = await host.NonAsn().EndEmploymentAsync(end);

        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht], ended.EndedPrograms);
        Assert.Equal((EmploymentState.Ended, TestData.ToApi(endDate), EmploymentEndReason.AppointedAsn), (ended.Employment.State, ended.Employment.EndDate, ended.Employment.EndReason));
        Assert.Equal(ended, repeated);
        coverages = await CoveragesAsync(host, employee.Nik);
        Assert.Equal(3, coverages.Count);
        Assert.All(coverages, c => Assert.Equal((TestData.ToApi(endDate), CoverageEndReason.EmploymentEnded), (c.EndDate, c.EndReason)));
        await EventLog.WaitForAsync(() => host.Events.Ended.Any(e => e.EmploymentId == employment.EmploymentId), "NonAsnEmploymentEnded");
        await EventLog.WaitForAsync(() => host.Events.CoverageEnded.Any(e => e.ParticipantNumber == employment.ParticipantNumber && e.Reason == "EMPLOYMENT_ENDED"), "CoverageEnded");
        await Task.Delay(300);
        var event_ = Assert.Single(host.Events.Ended, e => e.EmploymentId == employment.EmploymentId);
        Assert.Equal(("APPOINTED_ASN", TestData.KemnakerEmployer), (event_.Reason, event_.EmployerNumber));

        var other = end.Clone();
        other.EndDate = TestData.ToApi(endDate.AddDays(1));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => host.NonAsn().EndEmploymentAsync(other).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => host.NonAsn().UpdateEmploymentAsync(new UpdateEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = employee.Nik, ContractStartDate = employee.ContractStartDate, MonthlyWageRupiah = 1, WageEffectiveDate = employee.ContractStartDate,
        }).ResponseAsync);
    }

    [Theory, BothProviders]
    public async Task UnknownEmploymentsAreNotFound(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var nik = TestData.NewNik();
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.NonAsn().EndEmploymentAsync(new EndEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = nik, EndDate = TestData.ToApi(TestData.Today), Reason = EmploymentEndReason.Other,
        }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.NonAsn().UpdateEmploymentAsync(new UpdateEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = nik, ContractStartDate = TestData.ToApi(TestData.Today), ContractEndDate = TestData.ToApi(TestData.Today.AddDays(5)),
        }).ResponseAsync);
    }

    private static async Task<(Employee Employee, Employment Employment)> RegisterAsync(NonAsnHost host, params Program[] programs)
    {
        var employee = TestData.Employee(programs: programs);
        var response = await host.NonAsn().RegisterEmployeeAsync(new RegisterEmployeeRequest { EmployerNumber = TestData.KemnakerEmployer, Employee = employee });
        return (employee, response.Employment);
    }

    private static async Task<IReadOnlyList<Coverage>> CoveragesAsync(NonAsnHost host, string nik) =>
        (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = nik })).Participant.Coverages;
}
