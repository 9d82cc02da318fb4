using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>EndCoverage, CheckHousingBenefitEligibility, QuoteContribution and GetParticipant through the wire, on SQLite and PostgreSQL.</summary>
public sealed class RegistryOperationsTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    private MembershipHost _host = null!;

    private MembershipHost Host => _host;

    private MembershipService.MembershipServiceClient Internal => Host.Client("internal-services");

    /// <summary>The class's host on the theory's provider.</summary>
    private async Task UseHostAsync(DatabaseProvider provider) => _host = await hosts.OnAsync(provider);

    private static EndCoverageRequest EndKur(string number, DateOnly end, params Program[] programs) => new()
    {
        ParticipantNumber = number, Programs = { programs }, Channel = EnrolmentChannel.Kur, ChannelReference = "002",
        EndDate = end.ToApi(), Reason = CoverageEndReason.LoanCancelled,
    };

    [Theory, BothProviders]
    public async Task EndingSomeProgramsSplitsTheCoverageIsIdempotentAndPublishesOnce(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Bpu();
        request.Programs.Add(Program.Jht);
        var number = (await Internal.EnrollParticipantAsync(request)).ParticipantNumber;
        var end = TestData.Today.AddDays(-1);

        var ended = await Internal.EndCoverageAsync(EndKur(number, end, Program.Jht));
        Assert.Equal([Program.Jht], ended.EndedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm], ended.ActivePrograms);

        var again = await Internal.EndCoverageAsync(EndKur(number, end, Program.Jht));
        Assert.Equal(ended, again);
        var published = (await Host.PublishedAsync()).About(number).OfType<CoverageEnded>().ToList();
        var only = Assert.Single(published);
        Assert.Equal(["JHT"], only.Programs);
        Assert.Equal("LOAN_CANCELLED", only.Reason);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, async () => await Internal.EndCoverageAsync(EndKur(number, end.AddDays(-1), Program.Jht)));

        var participant = (await Internal.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = number })).Participant;
        var jht = participant.Coverages.Single(c => c.Program == Program.Jht);
        Assert.Equal(CoverageStatus.Ended, jht.Status);
        Assert.Equal(CoverageEndReason.LoanCancelled, jht.EndReason);
        Assert.Equal("002", jht.ChannelReference);
        Assert.Equal(EnrolmentChannel.Kur, jht.Channel);
        Assert.All(participant.Coverages.Where(c => c.Program != Program.Jht), c => Assert.Equal(CoverageStatus.Active, c.Status));
    }

    [Theory, BothProviders]
    public async Task EndCoverageTouchesOnlyTheGivenSourceAndRefusesBadRequests(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bpu = TestData.Bpu();
        var number = (await Internal.EnrollParticipantAsync(bpu)).ParticipantNumber;
        await Internal.EnrollParticipantAsync(TestData.Pu(bpu.Nik));

        var otherBank = EndKur(number, TestData.Today, Program.Jkk);
        otherBank.ChannelReference = "009";
        var nothing = await Internal.EndCoverageAsync(otherBank);
        Assert.Empty(nothing.EndedPrograms);

        var byEmployer = new EndCoverageRequest
        {
            ParticipantNumber = number, Programs = { Program.Jkk, Program.Jkm, Program.Jht, Program.Jp }, EmployerNumber = "11000001",
            EndDate = TestData.Today.AddMonths(3).ToApi(), Reason = CoverageEndReason.EmploymentEnded,
        };
        var ended = await Internal.EndCoverageAsync(byEmployer);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], ended.EndedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], ended.ActivePrograms); // the contract runs three more months

        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await Internal.EndCoverageAsync(EndKur(Domain.ParticipantNumber.FromSequence(8_888_888_888).Value, TestData.Today, Program.Jkk)));
        // An end before the coverage began is refused, except a loan cancellation, which voids the coverage (below).
        var beforeStart = EndKur(number, TestData.Today.AddYears(-3), Program.Jkk);
        beforeStart.Reason = CoverageEndReason.Other;
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, async () => await Internal.EndCoverageAsync(beforeStart));
        var violations = await RpcAssert.ViolationsAsync(async () => await Internal.EndCoverageAsync(new EndCoverageRequest { ParticipantNumber = "12345678901" }));
        Assert.Equal(["participant_number", "programs", "source", "end_date", "reason"], violations.Select(v => v.Field));
    }

    [Theory, BothProviders]
    public async Task ALoanCancelledOnTheDayItsCoverageBeganVoidsItAndTheRegistryAnswersNotCovered(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bpu = TestData.Bpu();
        bpu.StartDate = TestData.Today.ToApi(); // a KUR coverage starts on the enrolment day
        var number = (await Internal.EnrollParticipantAsync(bpu)).ParticipantNumber;
        var bank = Host.Client("bank-bni");
        Assert.True((await bank.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = bpu.Nik })).Covered);

        var cancelled = await Internal.EndCoverageAsync(EndKur(number, TestData.Today, Program.Jkk, Program.Jkm));
        Assert.Equal([Program.Jkk, Program.Jkm], cancelled.EndedPrograms);
        Assert.Empty(cancelled.ActivePrograms);
        var after = await bank.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = bpu.Nik });
        Assert.False(after.Covered);
        Assert.NotEqual(MembershipStatus.Active, after.Status);

        // Repeating the cancellation is the same answer, stored once (the void end is the day before the start).
        var again = await Internal.EndCoverageAsync(EndKur(number, TestData.Today, Program.Jkk, Program.Jkm));
        Assert.Equal([Program.Jkk, Program.Jkm], again.EndedPrograms);

        // Cancelled after its coverage began, a loan's coverage ends on the cancellation day instead (covered until then).
        var older = TestData.Bpu();
        var olderNumber = (await Internal.EnrollParticipantAsync(older)).ParticipantNumber;
        var ended = await Internal.EndCoverageAsync(EndKur(olderNumber, TestData.Today, Program.Jkk, Program.Jkm));
        Assert.Equal([Program.Jkk, Program.Jkm], ended.ActivePrograms);
        Assert.True((await bank.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = older.Nik, AsOfDate = TestData.Today.ToApi() })).Covered);
    }

    [Theory, BothProviders]
    public async Task HousingBenefitNeedsTwelveMonthsAndJht(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bank = Host.Client("bank-bni");
        var unknown = await bank.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = TestData.Nik() });
        Assert.False(unknown.Eligible);
        Assert.Equal([HousingBenefitCriterion.Registered], unknown.UnmetCriteria);

        var veteran = TestData.Pu(start: TestData.Today.AddMonths(-12));
        await Internal.EnrollParticipantAsync(veteran);
        var eligible = await bank.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = veteran.Nik });
        Assert.True(eligible.Eligible);
        Assert.Empty(eligible.UnmetCriteria);

        var newcomer = TestData.Pu(start: TestData.Today.AddMonths(-12).AddDays(1));
        await Internal.EnrollParticipantAsync(newcomer);
        var tooSoon = await bank.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = newcomer.Nik });
        Assert.Equal([HousingBenefitCriterion.Member12Months], tooSoon.UnmetCriteria);

        var withoutJht = TestData.Bpu(); // JKK + JKM only, for a year
        withoutJht.StartDate = TestData.Today.AddYears(-2).ToApi();
        await Internal.EnrollParticipantAsync(withoutJht);
        var noJht = await bank.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = withoutJht.Nik });
        Assert.Equal([HousingBenefitCriterion.JhtActive], noJht.UnmetCriteria);

        var asOf = await bank.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = veteran.Nik, AsOfDate = TestData.Today.AddMonths(-6).ToApi() });
        Assert.Equal([HousingBenefitCriterion.Member12Months], asOf.UnmetCriteria);
    }

    [Fact]
    public async Task QuotesComeFromTheDatedRateTableInRequestOrder()
    {
        await UseHostAsync(DatabaseProvider.Sqlite); // a quote reads no table
        var client = Host.Client("bank-bri");
        var bpu = await client.QuoteContributionAsync(new QuoteContributionRequest
        {
            Segment = Segment.Bpu, Programs = { Program.Jkm, Program.Jkk }, MonthlyIncomeRupiah = 1_000_000, EffectiveDate = new Date { Year = 2025, Month = 1, Day = 1 },
        });
        Assert.Equal([Program.Jkm, Program.Jkk], bpu.Lines.Select(l => l.Program));
        Assert.Equal(16_800, bpu.TotalRupiah); // JKK 1 % with its Rp10,000 minimum + JKM Rp6,800
        Assert.Equal(16_800, bpu.WorkerTotalRupiah);

        var capped = await client.QuoteContributionAsync(new QuoteContributionRequest
        {
            Segment = Segment.Pu, Programs = { Program.Jp }, MonthlyIncomeRupiah = 20_000_000, EffectiveDate = new Date { Year = 2024, Month = 6, Day = 1 },
        });
        Assert.Equal(200_846, capped.EmployerTotalRupiah); // 2 % of the Rp10,042,300 cap in force from March 2024
        Assert.Equal(100_423, capped.WorkerTotalRupiah);

        var jakon = await RpcAssert.ViolationsAsync(async () => await client.QuoteContributionAsync(new QuoteContributionRequest { Segment = Segment.Jakon, Programs = { Program.Jkk } }));
        Assert.Equal([("segment", "SEGMENT_NOT_SUPPORTED")], jakon);
        var pension = await RpcAssert.ViolationsAsync(async () => await client.QuoteContributionAsync(new QuoteContributionRequest { Segment = Segment.Bpu, Programs = { Program.Jp }, MonthlyIncomeRupiah = 1 }));
        Assert.Equal([("programs", "PROGRAM_NOT_AVAILABLE")], pension);
        var negative = await RpcAssert.ViolationsAsync(async () => await client.QuoteContributionAsync(new QuoteContributionRequest { Segment = Segment.Bpu, Programs = { Program.Jkk }, MonthlyIncomeRupiah = -1 }));
        Assert.Equal([("monthly_income_rupiah", "AMOUNT_NEGATIVE")], negative);
    }

    [Theory, BothProviders]
    public async Task GetParticipantFindsByNumberOrNikAndSaysNotFound(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Pu();
        var number = (await Internal.EnrollParticipantAsync(request)).ParticipantNumber;
        var auditor = Host.Client("auditor-bpk");
        var byNumber = (await auditor.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = number })).Participant;
        var byNik = (await auditor.GetParticipantAsync(new GetParticipantRequest { Nik = request.Nik })).Participant;
        Assert.Equal(byNumber, byNik);
        Assert.Equal(request.Nik[..4] + "••••••••" + request.Nik[^4..], byNik.Nik); // an auditor reads the NIK masked (issue 25)
        Assert.Equal("S. A.", byNik.FullName); // and the name as initials (issue 25)
        var whole = (await Internal.GetParticipantAsync(new GetParticipantRequest { Nik = request.Nik })).Participant;
        Assert.Equal((request.Nik, "Siti Aminah"), (whole.Nik, whole.FullName)); // the suite's own modules read both whole
        Assert.Equal(whole.Coverages, byNik.Coverages);
        Assert.Equal("11000001", byNik.Coverages[0].EmployerNumber);

        await RpcAssert.FailsAsync(StatusCode.NotFound, async () => await auditor.GetParticipantAsync(new GetParticipantRequest { Nik = TestData.Nik() }));
        Assert.Equal([("key", "KEY_MISSING")], await RpcAssert.ViolationsAsync(async () => await auditor.GetParticipantAsync(new GetParticipantRequest())));
        Assert.Equal([("participant_number", "PARTICIPANT_NUMBER_INVALID")], await RpcAssert.ViolationsAsync(async () =>
            await auditor.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = number[..^1] + (char)('0' + ((number[^1] - '0' + 1) % 10)) })));
    }
}
