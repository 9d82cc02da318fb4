using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>The December update: a new extract re-checks every worker; the eligible renew into next year's agreement as its budget allows, the others end, and the sponsor gets the report.</summary>
public sealed class AnnualUpdateTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    private static long Cost => TestData.MonthsLeft * TestData.MonthlyJkkJkm;

    private static long NextYearCost => 12 * TestData.MonthlyJkkJkm;

    [Theory, BothProviders]
    public async Task TheNewExtractRenewsTheEligiblePoorestFirstAndEndsTheRestWithTheirReasons(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100 * Cost);
        string stays = TestData.NewNik(), richer = TestData.NewNik(), overBudget = TestData.NewNik(), gone = TestData.NewNik(), newcomer = TestData.NewNik();
        var client = host.Rentan(sponsor);
        await TestData.UploadAsync(client, sponsor,
            [TestData.Person(stays, 2), TestData.Person(richer, 3), TestData.Person(overBudget, 4), TestData.Person(gone, 1)], TestData.Today.AddDays(-1));
        var (enrolled, _) = await TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [TestData.Worker(stays), TestData.Worker(richer), TestData.Worker(overBudget), TestData.Worker(gone)]);
        Assert.All(enrolled, r => Assert.Equal(EnrolmentOutcome.Enrolled, r.Outcome));
        var next = await TestData.AgreementAsync(host, sponsor, NextYearCost + NextYearCost / 2, TestData.Year + 1);
        // December's extract: one stays poor, one is richer now, one is still eligible but there is budget for one only, one left the data, one is new.
        await TestData.UploadAsync(client, sponsor,
            [TestData.Person(stays, 1), TestData.Person(richer, 6), TestData.Person(overBudget, 3), TestData.Person(newcomer, 2)], TestData.Today);

        var report = await TestData.ReadAllAsync(client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year }));

        var lines = report.Where(r => r.PartCase == RunAnnualUpdateResponse.PartOneofCase.Line).Select(r => r.Line).ToList();
        var summary = report.Last().Summary;
        Assert.NotNull(summary);
        var byNik = lines.ToDictionary(l => l.Nik);
        Assert.Equal(AnnualUpdateOutcome.Renewed, byNik[stays].Outcome);
        Assert.Equal(NextYearCost, byNik[stays].CommittedRupiah);
        Assert.Equal((AnnualUpdateOutcome.Ended, WorkerReason.DecileNotEligible, 6), (byNik[richer].Outcome, byNik[richer].Reason, byNik[richer].Decile));
        Assert.Equal((AnnualUpdateOutcome.Ended, WorkerReason.BudgetExhausted), (byNik[overBudget].Outcome, byNik[overBudget].Reason));
        Assert.Equal((AnnualUpdateOutcome.Ended, WorkerReason.NotInExtract, 0), (byNik[gone].Outcome, byNik[gone].Reason, byNik[gone].Decile));
        Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year, 12, 31)), byNik[gone].EndDate);
        Assert.Equal((AnnualUpdateOutcome.NewlyEligible, 2), (byNik[newcomer].Outcome, byNik[newcomer].Decile));
        Assert.Equal((4L, 1L, 3L, 1L, next.AgreementId, NextYearCost, NextYearCost / 2),
            (summary.Workers, summary.Renewed, summary.Ended, summary.NewlyEligible, summary.NextAgreementId, summary.RenewalCommittedRupiah, summary.NextRemainingRupiah));

        // Membership: the renewed worker's coverage runs to the end of next year's agreement; the others' still end this year.
        var renewed = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = stays })).Participant;
        Assert.All(renewed.Coverages, c => Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year + 1, 12, 31)), c.EndDate));
        var ended = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = richer })).Participant;
        Assert.All(ended.Coverages, c => Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year, 12, 31)), c.EndDate));

        // This year's workers carry the decision; next year's agreement holds the renewal.
        var workers = (await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year }))).Select(w => w.Worker).ToDictionary(w => w.Nik);
        Assert.Equal(SponsorshipState.Renewed, workers[stays].State);
        Assert.Equal((SponsorshipState.Ending, WorkerReason.NotInExtract), (workers[gone].State, workers[gone].EndReason));
        var nextWorkers = (await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year + 1 }))).Select(w => w.Worker).ToList();
        var renewal = Assert.Single(nextWorkers);
        Assert.Equal((stays, workers[stays].SponsorshipId, workers[stays].ParticipantNumber, 1), (renewal.Nik, renewal.RenewedFromSponsorshipId, renewal.ParticipantNumber, renewal.Decile));
        Assert.Equal((NextYearCost, NextYearCost / 2), ((await TestData.AgreementOfAsync(host, sponsor, TestData.Year + 1)).CommittedRupiah, (await TestData.AgreementOfAsync(host, sponsor, TestData.Year + 1)).RemainingRupiah));

        // Every renewal and end is an event, traceable by agreement and participant.
        await EventLog.WaitForAsync(() => host.Events.Ended.Count(e => e.AgreementId == agreement.AgreementId) >= 3 && host.Events.Renewed.Any(e => e.AgreementId == next.AgreementId), "the update's events");
        var renewedEvent = Assert.Single(host.Events.Renewed, e => e.AgreementId == next.AgreementId);
        Assert.Equal((agreement.AgreementId, workers[stays].ParticipantNumber, NextYearCost), (renewedEvent.PreviousAgreementId, renewedEvent.ParticipantNumber, renewedEvent.CommittedRupiah));
        Assert.Equal(new[] { "BUDGET_EXHAUSTED", "DECILE_NOT_ELIGIBLE", "NOT_IN_EXTRACT" }, host.Events.Ended.Where(e => e.AgreementId == agreement.AgreementId).Select(e => e.Reason).Order());

        // Running it again decides nothing new and gives the same report.
        var again = await TestData.ReadAllAsync(client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year }));
        Assert.Equal(report, again);
        Assert.Single(host.Events.Renewed, e => e.AgreementId == next.AgreementId);
        Assert.Equal(3, host.Events.Ended.Count(e => e.AgreementId == agreement.AgreementId));
    }

    [Theory, BothProviders]
    public async Task WithoutNextYearsAgreementEveryWorkerEndsWithTheAgreement(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100 * Cost);
        var nik = TestData.NewNik();
        var client = host.Rentan(sponsor);
        await TestData.UploadAsync(client, sponsor, [TestData.Person(nik, 1)]);
        await TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [TestData.Worker(nik)]);

        var report = await TestData.ReadAllAsync(host.Admin().RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year }));

        var line = report[0].Line;
        Assert.Equal((AnnualUpdateOutcome.Ended, WorkerReason.NoNextAgreement, nik), (line.Outcome, line.Reason, line.Nik));
        Assert.Equal((1L, 0L, 1L, ""), (report[^1].Summary.Workers, report[^1].Summary.Renewed, report[^1].Summary.Ended, report[^1].Summary.NextAgreementId));
    }
}
