using Grpc.Core;
using Verification.Api.Membership.V1;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>Membership going away mid-list: the rows not confirmed answer UNAVAILABLE and keep their budget; sending the list again finishes them, nothing twice.</summary>
public sealed class MembershipOutageTests(MembershipFaultsFixture fixture) : IClassFixture<MembershipFaultsFixture>
{
    private static long Cost => TestData.MonthsLeft * TestData.MonthlyJkkJkm;

    [Theory, BothProviders]
    public async Task AListInterruptedByMembershipIsFinishedBySendingItAgain(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100 * Cost);
        var niks = Enumerable.Range(0, 10).Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, niks.Select(nik => TestData.Person(nik, 3)));
        var rows = niks.Select(n => TestData.Worker(n)).ToArray();

        // Membership answers the first enrolment call (a chunk of 2 or 4 rows), then goes down.
        faults.DownAfterEnrolments(1);
        var (interrupted, summary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, rows);

        var enrolled = interrupted.Where(r => r.Outcome == EnrolmentOutcome.Enrolled).ToList();
        var unavailable = interrupted.Where(r => r.Error?.Code == Google.Rpc.Code.Unavailable).ToList();
        Assert.Contains(enrolled.Count, new[] { 2, 4 });
        Assert.Equal(10, enrolled.Count + unavailable.Count);
        var held = await TestData.AgreementOfAsync(host, sponsor);
        // The unconfirmed rows keep their share: nobody can take it meanwhile, and nothing is enrolled without it.
        Assert.Equal((10 * Cost, unavailable.Count * Cost, (long)enrolled.Count), (held.CommittedRupiah, held.PendingRupiah, held.WorkerCount));
        Assert.Equal(enrolled.Count, (await TestData.ReadAllAsync(host.Admin().ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year }))).Count);

        faults.Clear();
        var (resumed, resumedSummary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, rows);

        Assert.Equal(enrolled.Select(r => r.RowId).Order(), resumed.Where(r => r.Outcome == EnrolmentOutcome.Unchanged).Select(r => r.RowId).Order());
        Assert.Equal(unavailable.Select(r => r.RowId).Order(), resumed.Where(r => r.Outcome == EnrolmentOutcome.Enrolled).Select(r => r.RowId).Order());
        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((10 * Cost, 0L, 10L, 90 * Cost), (after.CommittedRupiah, after.PendingRupiah, after.WorkerCount, resumedSummary.RemainingRupiah));
        foreach (var nik in niks)
        {
            var participant = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = nik })).Participant;
            Assert.Equal(2, participant.Coverages.Count);
        }

        await EventLog.WaitForAsync(() => host.Events.Enrolled.Count(e => e.AgreementId == agreement.AgreementId) >= 10, "ten enrolment events");
        Assert.Equal(10, host.Events.Enrolled.Where(e => e.AgreementId == agreement.AgreementId).Select(e => e.SponsorshipId).Distinct().Count());
        // Membership's events come through its own outbox and relay, not with Rentan's: waited for on their own.
        var numbers = resumed.Select(r => r.ParticipantNumber).ToHashSet();
        await EventLog.WaitForAsync(() => host.Events.ParticipantEnrolled.Count(e => numbers.Contains(e.ParticipantNumber)) >= 10, "ten participant events");
        Assert.Equal(10, host.Events.ParticipantEnrolled.Count(e => numbers.Contains(e.ParticipantNumber)));
    }

    [Theory, BothProviders]
    public async Task MembershipDownBeforeTheListWritesNothing(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100 * Cost);
        var nik = TestData.NewNik();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, [TestData.Person(nik, 1)]);

        faults.Down = true;
        var (rows, _) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, [TestData.Worker(nik)]);

        Assert.Equal(Google.Rpc.Code.Unavailable, rows.Single().Error.Code);
        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((0L, 0L), (after.CommittedRupiah, after.WorkerCount));
    }

    [Theory, BothProviders]
    public async Task MembershipGoingDownMidDecemberUpdateIsFinishedByRunningItAgainWithoutDoubleRenewalsOrLostWorkers(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var faults = fixture.Faults(provider);
        var sponsor = host.NextSponsorCode();
        var nextYearCost = 12 * TestData.MonthlyJkkJkm;
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100 * Cost);
        var stay = Enumerable.Range(0, 12).Select(_ => TestData.NewNik()).ToArray();
        var richer = TestData.NewNik();
        var client = host.Rentan(sponsor);
        await TestData.UploadAsync(client, sponsor, [.. stay.Select(n => TestData.Person(n, 2)), TestData.Person(richer, 3)], TestData.Today.AddDays(-1));
        var (enrolled, _) = await TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [.. stay.Select(n => TestData.Worker(n)), TestData.Worker(richer)]);
        Assert.All(enrolled, r => Assert.Equal(EnrolmentOutcome.Enrolled, r.Outcome));
        var next = await TestData.AgreementAsync(host, sponsor, 100 * nextYearCost, TestData.Year + 1);
        await TestData.UploadAsync(client, sponsor, [.. stay.Select(n => TestData.Person(n, 1)), TestData.Person(richer, 7)], TestData.Today);

        // Twelve renewals are extended in chunks of 4, three in flight: Membership answers the first and is down for the other two.
        faults.DownAfterExtensions(1);
        await RpcAssert.FailsAsync(StatusCode.Unavailable, () => TestData.ReadAllAsync(client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year })));

        var held = await TestData.AgreementOfAsync(host, sponsor, TestData.Year + 1);
        // The unconfirmed renewals keep their share of next year's budget; only the extended ones are workers.
        Assert.Equal((12 * nextYearCost, 8 * nextYearCost, 4L), (held.CommittedRupiah, held.PendingRupiah, held.WorkerCount));
        var halfway = (await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year }))).Select(w => w.Worker).ToDictionary(w => w.Nik);
        Assert.Equal((SponsorshipState.Ending, WorkerReason.DecileNotEligible), (halfway[richer].State, halfway[richer].EndReason));
        Assert.Equal(4, stay.Count(n => halfway[n].State == SponsorshipState.Renewed));

        faults.Clear();
        var report = await TestData.ReadAllAsync(client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = sponsor, Year = TestData.Year }));

        var lines = report.Where(r => r.PartCase == RunAnnualUpdateResponse.PartOneofCase.Line).Select(r => r.Line).ToDictionary(l => l.Nik);
        Assert.All(stay, n => Assert.Equal((AnnualUpdateOutcome.Renewed, nextYearCost), (lines[n].Outcome, lines[n].CommittedRupiah)));
        Assert.Equal((AnnualUpdateOutcome.Ended, WorkerReason.DecileNotEligible), (lines[richer].Outcome, lines[richer].Reason));
        var summary = report[^1].Summary;
        Assert.Equal((13L, 12L, 1L, 12 * nextYearCost), (summary.Workers, summary.Renewed, summary.Ended, summary.RenewalCommittedRupiah));
        var after = await TestData.AgreementOfAsync(host, sponsor, TestData.Year + 1);
        Assert.Equal((12 * nextYearCost, 0L, 12L, next.BudgetRupiah - 12 * nextYearCost), (after.CommittedRupiah, after.PendingRupiah, after.WorkerCount, after.RemainingRupiah));
        var nextWorkers = (await TestData.ReadAllAsync(client.ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year + 1 }))).Select(w => w.Worker).ToList();
        Assert.Equal(stay.Order(), nextWorkers.Select(w => w.Nik).Order());
        foreach (var nik in stay)
        {
            var participant = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = nik })).Participant;
            Assert.All(participant.Coverages, c => Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year + 1, 12, 31)), c.EndDate));
        }

        var richerCoverage = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = richer })).Participant;
        Assert.All(richerCoverage.Coverages, c => Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year, 12, 31)), c.EndDate));
        // One renewal event per worker, and the richer worker's end once, whichever run committed them.
        await EventLog.WaitForAsync(() => host.Events.Renewed.Count(e => e.AgreementId == next.AgreementId) >= 12, "twelve renewal events");
        Assert.Equal(12, host.Events.Renewed.Where(e => e.AgreementId == next.AgreementId).Select(e => e.PreviousSponsorshipId).Distinct().Count());
        Assert.Equal(12, host.Events.Renewed.Where(e => e.AgreementId == next.AgreementId).Select(e => e.EventId).Distinct().Count());
        await EventLog.WaitForAsync(() => host.Events.Ended.Any(e => e.AgreementId == agreement.AgreementId), "the end event");
        Assert.Single(host.Events.Ended.Where(e => e.AgreementId == agreement.AgreementId).Select(e => e.SponsorshipId).Distinct());
    }
}
