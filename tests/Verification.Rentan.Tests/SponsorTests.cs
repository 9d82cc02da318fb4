using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>Sponsors and agreements: registered and changed by a BPJS administrator only, every change an event, a repeat none.</summary>
public sealed class SponsorTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    [Theory, BothProviders]
    public async Task AnAdministratorRegistersASponsorAndItsAgreementAndEveryChangeIsOneEvent(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var admin = host.Admin();
        var registration = new RegisterSponsorRequest { SponsorCode = sponsor, Name = "Pemerintah Kota Parepare", RegionCodes = { "7372" } };

        var registered = (await admin.RegisterSponsorAsync(registration)).Sponsor;
        var repeated = (await admin.RegisterSponsorAsync(registration)).Sponsor;
        registration.Name = "Pemkot Parepare (Dinas Sosial)";
        var renamed = (await admin.RegisterSponsorAsync(registration)).Sponsor;

        Assert.Equal(["7372"], registered.RegionCodes);
        Assert.Equal(registered.UpdateTime, repeated.UpdateTime);
        Assert.Equal("Pemkot Parepare (Dinas Sosial)", renamed.Name);
        await EventLog.WaitForAsync(() => host.Events.SponsorSaved.Any(e => e.MemberCode == sponsor && e.Change == "CHANGED"), "the sponsor's change");
        Assert.Equal(["REGISTERED", "CHANGED"], host.Events.SponsorSaved.Where(e => e.MemberCode == sponsor).OrderBy(e => e.OccurredAt).Select(e => e.Change));
        Assert.All(host.Events.SponsorSaved.Where(e => e.MemberCode == sponsor), e => Assert.Equal(TestData.Administrator, e.ActingMember));

        var agreement = await TestData.AgreementAsync(host, sponsor, 100_000_000, TestData.Year);
        var same = await TestData.AgreementAsync(host, sponsor, 100_000_000, TestData.Year);
        var raised = await TestData.AgreementAsync(host, sponsor, 150_000_000, TestData.Year, Program.Jkk, Program.Jkm, Program.Jht);

        Assert.Equal($"{sponsor}-{TestData.Year}", agreement.AgreementId);
        Assert.Equal((100_000_000L, 0L, 100_000_000L), (agreement.BudgetRupiah, agreement.CommittedRupiah, agreement.RemainingRupiah));
        Assert.Equal(agreement.UpdateTime, same.UpdateTime);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht], raised.Programs);
        Assert.Equal(150_000_000L, raised.RemainingRupiah);
        await EventLog.WaitForAsync(() => host.Events.AgreementSaved.Any(e => e.MemberCode == sponsor && e.Change == "CHANGED"), "the agreement's change");
        var events = host.Events.AgreementSaved.Where(e => e.MemberCode == sponsor).OrderBy(e => e.OccurredAt).ToList();
        Assert.Equal(["REGISTERED", "CHANGED"], events.Select(e => e.Change));
        Assert.Equal((150_000_000L, 100_000_000L), (events[1].BudgetRupiah, events[1].PreviousBudgetRupiah));
        Assert.Equal(agreement.AgreementId, events[1].AgreementId);

        // The sponsor reads its own agreement, not changes it.
        var own = host.Rentan(sponsor);
        Assert.Equal(150_000_000L, (await own.GetAgreementAsync(new GetAgreementRequest { SponsorCode = sponsor, Year = TestData.Year })).Agreement.BudgetRupiah);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => own.SaveAgreementAsync(new SaveAgreementRequest
        {
            SponsorCode = sponsor, Year = TestData.Year, BudgetRupiah = 1, Programs = { Program.Jkk, Program.Jkm },
            StartDate = TestData.ToApi(new DateOnly(TestData.Year, 1, 1)), EndDate = TestData.ToApi(new DateOnly(TestData.Year, 12, 31)),
        }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => own.RegisterSponsorAsync(registration).ResponseAsync);
        Assert.Equal(150_000_000L, (await TestData.AgreementOfAsync(host, sponsor)).BudgetRupiah);
    }

    [Theory, BothProviders]
    public async Task InvalidRegistrationsNameEveryFieldAndWriteNothing(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var admin = host.Admin();

        var violations = await RpcAssert.ViolationsAsync(() => admin.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = "Sponsor X", RegionCodes = { "7372", "99", "7372" } }).ResponseAsync);
        Assert.Equal(
            [("sponsor_code", "SPONSOR_CODE_INVALID"), ("name", "NAME_MISSING"), ("region_codes[1]", "REGION_CODE_INVALID"), ("region_codes[2]", "REGION_CODE_DUPLICATE")],
            violations);

        violations = await RpcAssert.ViolationsAsync(() => admin.SaveAgreementAsync(new SaveAgreementRequest
        {
            SponsorCode = sponsor, Year = TestData.Year, BudgetRupiah = 0, Programs = { Program.Jkk, Program.Jp },
            StartDate = TestData.ToApi(new DateOnly(TestData.Year, 6, 1)), EndDate = TestData.ToApi(new DateOnly(TestData.Year + 1, 1, 31)),
        }).ResponseAsync);
        Assert.Contains(("budget_rupiah", "BUDGET_NOT_POSITIVE"), violations);
        Assert.Contains(("programs[1]", "PROGRAM_NOT_OFFERED"), violations);
        Assert.Contains(("programs", "MANDATORY_PROGRAM_MISSING"), violations);
        Assert.Contains(("end_date", "DATE_OUTSIDE_YEAR"), violations);

        // A code that is not a SPONSOR member, or regions beyond the member's own scope, are refused.
        var notMember = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => admin.RegisterSponsorAsync(
            new RegisterSponsorRequest { SponsorCode = "kemnaker", Name = "Kemnaker", RegionCodes = { "7372" } }).ResponseAsync);
        Assert.Equal("SPONSOR_NOT_A_MEMBER", RpcAssert.ReasonOf(notMember));
        var wider = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => admin.RegisterSponsorAsync(
            new RegisterSponsorRequest { SponsorCode = sponsor, Name = "Parepare", RegionCodes = { "73" } }).ResponseAsync);
        Assert.Equal("REGION_OUTSIDE_MEMBER_SCOPE", RpcAssert.ReasonOf(wider));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => admin.GetSponsorAsync(new GetSponsorRequest { SponsorCode = sponsor }).ResponseAsync);
        // No sponsor, no agreement.
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => TestData.AgreementAsync(host, sponsor, 1_000_000, TestData.Year));
    }

    [Theory, BothProviders]
    public async Task ASponsorSeesOnlyItselfAndReachingForAnotherIsDeniedAndAudited(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var other = host.NextSponsorCode();
        await TestData.SponsorWithAgreementAsync(host, sponsor, 10_000_000);
        await TestData.SponsorWithAgreementAsync(host, other, 10_000_000);
        var client = host.Rentan(sponsor);

        Assert.Equal(sponsor, (await client.GetSponsorAsync(new GetSponsorRequest { SponsorCode = sponsor })).Sponsor.SponsorCode);
        var denied = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => client.GetAgreementAsync(new GetAgreementRequest { SponsorCode = other, Year = TestData.Year }).ResponseAsync);
        Assert.Equal("SPONSOR_NOT_OWN", RpcAssert.ReasonOf(denied));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = other, Year = TestData.Year })));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => TestData.EnrolAsync(client, other, $"{other}-{TestData.Year}", [TestData.Worker(TestData.NewNik())]));

        await EventLog.WaitForAsync(() => host.Events.Denied.Count(d => d.MemberCode == sponsor && d.ReasonCode == "SPONSOR_NOT_OWN") >= 3, "three audited denials");
        var agreementDenial = host.Events.Denied.First(d => d.MemberCode == sponsor && d.RpcMethod.EndsWith("/GetAgreement", StringComparison.Ordinal));
        Assert.Equal($"{other}-{TestData.Year}", agreementDenial.BatchId);
        Assert.Empty(await TestData.ReadAllAsync(host.Admin().ListWorkers(new ListWorkersRequest { SponsorCode = other, Year = TestData.Year })));
    }
}
