using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Platform.Privacy;
using Verification.Testing;
using Verification.Rentan.Tests.Support;

namespace Verification.Rentan.Tests;

/// <summary>EnrolWorkers: eligibility from the extract, refusals with their reasons, enrolment in Membership as BPU, idempotent repeats.</summary>
public sealed class EnrolmentTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    [Theory, BothProviders]
    public async Task EligibleWorkersAreEnrolledInMembershipAndEveryOtherRowIsAnsweredWithItsReason(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var other = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 100_000_000);
        var otherAgreement = await TestData.SponsorWithAgreementAsync(host, other, 100_000_000);
        string poorest = TestData.NewNik(), vulnerable = TestData.NewNik(), richer = TestData.NewNik(), absent = TestData.NewNik(),
            wageEarner = TestData.NewNik(), elsewhere = TestData.NewNik();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor,
            [TestData.Person(poorest, 1), TestData.Person(vulnerable, 4), TestData.Person(richer, 5), TestData.Person(wageEarner, 2), TestData.Person(elsewhere, 3)]);
        await TestData.UploadAsync(host.Rentan(other), other, [TestData.Person(elsewhere, 3)]);
        var first = await TestData.EnrolAsync(host.Rentan(other), other, otherAgreement.AgreementId, [TestData.Worker(elsewhere)]);
        Assert.Equal(EnrolmentOutcome.Enrolled, first.Rows[0].Outcome);
        await host.Membership().EnrollParticipantAsync(new EnrollParticipantRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString(), Nik = wageEarner, FullName = "Budi Santoso", BirthDate = TestData.ToApi(TestData.BirthDate), Sex = Sex.Male,
            Segment = Segment.Pu, Programs = { Program.Jkk, Program.Jkm }, EmployerNumber = "11000001", MonthlyIncomeRupiah = 4_000_000,
            StartDate = TestData.ToApi(TestData.Today.AddMonths(-1)),
        });

        var rows = new[]
        {
            TestData.Worker(vulnerable, "r-vulnerable"), TestData.Worker(poorest, "r-poorest"), TestData.Worker(richer, "r-richer"), TestData.Worker(absent, "r-absent"),
            TestData.Worker(wageEarner, "r-wage"), TestData.Worker(elsewhere, "r-elsewhere"), TestData.Worker(poorest, "r-twice"),
            new WorkerRow { RowId = "r-invalid", Nik = TestData.NewNik(), FullName = "", BirthDate = TestData.ToApi(TestData.Today.AddYears(-10)), Sex = Sex.Female },
        };
        var (results, summary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, rows);

        Assert.Equal(rows.Select(r => r.RowId), results.Select(r => r.RowId));
        var byId = results.ToDictionary(r => r.RowId);
        var cost = TestData.MonthsLeft * TestData.MonthlyJkkJkm;
        foreach (var id in new[] { "r-vulnerable", "r-poorest" })
        {
            Assert.Equal(EnrolmentOutcome.Enrolled, byId[id].Outcome);
            Assert.Matches("^[0-9]{11}$", byId[id].ParticipantNumber);
            Assert.Equal(cost, byId[id].CommittedRupiah);
        }

        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.DecileNotEligible), (byId["r-richer"].Outcome, byId["r-richer"].Reason));
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.NotInExtract), (byId["r-absent"].Outcome, byId["r-absent"].Reason));
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.CoveredAsWageEarner), (byId["r-wage"].Outcome, byId["r-wage"].Reason));
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.SponsoredElsewhere), (byId["r-elsewhere"].Outcome, byId["r-elsewhere"].Reason));
        Assert.Equal([("row.nik", "NIK_DUPLICATE_IN_LIST")], byId["r-twice"].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Contains(("row.full_name", "NAME_MISSING"), byId["r-invalid"].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Contains(("row.birth_date", "UNDER_MINIMUM_AGE"), byId["r-invalid"].Error.FieldViolations.Select(v => (v.Field, v.Reason)));
        Assert.Equal((8L, 2L, 0L, 4L, 2L, 2 * cost, 100_000_000 - 2 * cost),
            (summary.Rows, summary.Enrolled, summary.Unchanged, summary.Refused, summary.Rejected, summary.CommittedRupiah, summary.RemainingRupiah));

        // In Membership: a BPU participant, JKK and JKM to the agreement's end, through the local-government channel.
        var participant = (await host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = poorest })).Participant;
        Assert.Equal(byId["r-poorest"].ParticipantNumber, participant.ParticipantNumber);
        Assert.Equal([Program.Jkk, Program.Jkm], participant.Coverages.Select(c => c.Program).Order());
        Assert.All(participant.Coverages, c =>
        {
            Assert.Equal(Segment.Bpu, c.Segment);
            Assert.Equal(TestData.ToApi(TestData.Today), c.StartDate);
            Assert.Equal(TestData.ToApi(new DateOnly(TestData.Year, 12, 31)), c.EndDate);
        });
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = richer }).ResponseAsync);

        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((2 * cost, 0L, 2L), (after.CommittedRupiah, after.PendingRupiah, after.WorkerCount));
        var listed = (await TestData.ReadAllAsync(host.Rentan(sponsor).ListWorkers(new ListWorkersRequest { SponsorCode = sponsor, Year = TestData.Year }))).Select(w => w.Worker).ToList();
        // Listed in the NIK's hash order, which tells nothing of the NIKs: compared as a set.
        Assert.Equal(new[] { poorest, vulnerable }.Order(), listed.Select(w => w.Nik).Order());
        Assert.All(listed, w => Assert.Equal(SponsorshipState.Active, w.State));
        Assert.Equal(4, listed.Single(w => w.Nik == vulnerable).Decile);

        // The same list again changes nothing; a row with other data for an enrolled worker is a conflict.
        var (repeat, repeatSummary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, rows.Take(2));
        Assert.All(repeat, r => Assert.Equal(EnrolmentOutcome.Unchanged, r.Outcome));
        Assert.Equal(byId["r-poorest"].SponsorshipId, repeat.Single(r => r.RowId == "r-poorest").SponsorshipId);
        Assert.Equal((0L, 2L, 100_000_000 - 2 * cost), (repeatSummary.Enrolled, repeatSummary.Unchanged, repeatSummary.RemainingRupiah));
        var renamed = TestData.Worker(poorest, "r-renamed", name: "Siti Rahma");
        var conflict = (await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, [renamed])).Rows.Single();
        Assert.Equal((EnrolmentOutcome.Rejected, Google.Rpc.Code.AlreadyExists), (conflict.Outcome, conflict.Error.Code));
        Assert.DoesNotContain(poorest, conflict.Error.Message, StringComparison.Ordinal);

        // One event per enrolment, whatever the repeats; traceable by agreement, sponsor and participant, the NIK never in clear.
        var late = TestData.NewNik();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, [TestData.Person(late, 2)], TestData.Today);
        var lateRow = (await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, [TestData.Worker(late)])).Rows[0];
        Assert.Equal(EnrolmentOutcome.Enrolled, lateRow.Outcome);
        await EventLog.WaitForAsync(() => host.Events.Enrolled.Any(e => e.SponsorshipId == lateRow.SponsorshipId), "the last enrolment's event");
        var events = host.Events.Enrolled.Where(e => e.MemberCode == sponsor).ToList();
        Assert.Equal(new[] { byId["r-poorest"].SponsorshipId, byId["r-vulnerable"].SponsorshipId, lateRow.SponsorshipId }.Order(), events.Select(e => e.SponsorshipId).Order());
        Assert.Equal(byId["r-poorest"].ParticipantNumber, events.Single(e => e.SponsorshipId == byId["r-poorest"].SponsorshipId).ParticipantNumber);
        Assert.All(events, e =>
        {
            Assert.Equal(agreement.AgreementId, e.AgreementId);
            Assert.Equal(cost, e.CommittedRupiah);
            Assert.Equal(sponsor, e.ActingMember);
        });
        var poorestEvent = events.Single(e => e.SponsorshipId == byId["r-poorest"].SponsorshipId);
        Assert.Equal(1, poorestEvent.Decile);
        // The NIK travels sealed to the audit log's key and masked, never in clear.
        using var opener = new NikOpener([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]);
        Assert.Equal(poorest, opener.Open(poorestEvent.SealedNik, poorestEvent.EventId));
        Assert.Throws<SealedNikException>(() => opener.Open(poorestEvent.SealedNik, Guid.NewGuid()));
        Assert.DoesNotContain(poorest, poorestEvent.MaskedNik, StringComparison.Ordinal);
        Assert.DoesNotContain(poorest, poorestEvent.ToString(), StringComparison.Ordinal);
        // Both of the list's enrolments open, each only for its own event.
        var vulnerableEvent = events.Single(e => e.SponsorshipId == byId["r-vulnerable"].SponsorshipId);
        Assert.Equal(vulnerable, opener.Open(vulnerableEvent.SealedNik, vulnerableEvent.EventId));
        Assert.Throws<SealedNikException>(() => opener.Open(poorestEvent.SealedNik, vulnerableEvent.EventId));
    }

    [Theory, BothProviders]
    public async Task AWorkerOutsideTheSponsorsRegionsIsDeniedAndAudited(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        const string sponsor = RentanHost.BengkuluSponsor;
        var admin = host.Admin();
        await admin.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = sponsor, Name = "Pemerintah Kabupaten Kepahiang", RegionCodes = { "1708", "1701" } });
        var agreement = await TestData.AgreementAsync(host, sponsor, 400_000_000, TestData.Year);
        string kepahiang = TestData.NewNik(), southBengkulu = TestData.NewNik();
        var (rejected, _) = await TestData.UploadAsync(host.Rentan(sponsor), sponsor, [TestData.Person(kepahiang, 1, "1708"), TestData.Person(southBengkulu, 1, "1701")]);
        Assert.Empty(rejected);
        // The administrator narrows the sponsor to Kepahiang: a worker domiciled in South Bengkulu is no longer its own.
        await admin.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = sponsor, Name = "Pemerintah Kabupaten Kepahiang", RegionCodes = { "1708" } });

        var (results, _) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId,
            [TestData.Worker(kepahiang, "kepahiang"), TestData.Worker(southBengkulu, "south")]);

        Assert.Equal(EnrolmentOutcome.Enrolled, results[0].Outcome);
        Assert.Equal((EnrolmentOutcome.Rejected, Google.Rpc.Code.PermissionDenied, WorkerReason.OutsideRegion), (results[1].Outcome, results[1].Error.Code, results[1].Reason));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = southBengkulu }).ResponseAsync);
        await EventLog.WaitForAsync(() => host.Events.Denied.Any(d => d.MemberCode == sponsor && d.ReasonCode == "REGION_NOT_SPONSORS"), "the region denial");
        var denial = host.Events.Denied.Single(d => d.MemberCode == sponsor && d.ReasonCode == "REGION_NOT_SPONSORS");
        Assert.Equal(agreement.AgreementId, denial.BatchId);
        Assert.Contains("1701", denial.Reason, StringComparison.Ordinal);
    }

    [Theory, BothProviders]
    public async Task AListNeedsAnAgreementInForceAndAnExtract(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 10_000_000);
        var next = await TestData.AgreementAsync(host, sponsor, 10_000_000, TestData.Year + 1);
        var client = host.Rentan(sponsor);

        var noExtract = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [TestData.Worker(TestData.NewNik())]));
        Assert.Equal("NO_EXTRACT", RpcAssert.ReasonOf(noExtract));
        var nik = TestData.NewNik();
        await TestData.UploadAsync(client, sponsor, [TestData.Person(nik, 1)]);
        var notInForce = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => TestData.EnrolAsync(client, sponsor, next.AgreementId, [TestData.Worker(nik)]));
        Assert.Equal("AGREEMENT_NOT_IN_FORCE", RpcAssert.ReasonOf(notInForce));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => TestData.EnrolAsync(client, sponsor, $"{sponsor}-1999", [TestData.Worker(nik)]));
        Assert.Equal(0L, (await TestData.AgreementOfAsync(host, sponsor)).CommittedRupiah);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = nik }).ResponseAsync);
    }
}
