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
        Assert.Equal(10, host.Events.ParticipantEnrolled.Count(e => resumed.Select(r => r.ParticipantNumber).Contains(e.ParticipantNumber)));
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
}
