using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Platform.Privacy;
using Verification.Testing;
using Verification.Rentan.Data;
using Verification.Rentan.Tests.Support;

namespace Verification.Rentan.Tests;

/// <summary>Enrolment within the agreement's budget: poorest deciles first, the rest BUDGET_EXHAUSTED, never above the budget under concurrency.</summary>
public sealed class BudgetTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    private static long Cost => TestData.MonthsLeft * TestData.MonthlyJkkJkm;

    [Theory, BothProviders]
    public async Task WhenTheListExceedsTheBudgetThePoorestDecilesAreEnrolledFirst(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 2 * Cost + Cost / 2);
        var deciles = new[] { 4, 3, 1, 2 };
        var niks = deciles.Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, niks.Select((nik, i) => TestData.Person(nik, deciles[i])));

        var (results, summary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, niks.Select((nik, i) => TestData.Worker(nik, $"d{deciles[i]}")));

        var byId = results.ToDictionary(r => r.RowId);
        Assert.Equal(EnrolmentOutcome.Enrolled, byId["d1"].Outcome);
        Assert.Equal(EnrolmentOutcome.Enrolled, byId["d2"].Outcome);
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.BudgetExhausted), (byId["d3"].Outcome, byId["d3"].Reason));
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.BudgetExhausted), (byId["d4"].Outcome, byId["d4"].Reason));
        Assert.Equal((2L, 2L, Cost / 2), (summary.Enrolled, summary.Refused, summary.RemainingRupiah));
        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((2 * Cost, Cost / 2, 2L), (after.CommittedRupiah, after.RemainingRupiah, after.WorkerCount));

        // Each refusal for the budget is an event, traceable by the agreement, with what it needed and what was left.
        await EventLog.WaitForAsync(() => host.Events.Refused.Count(e => e.AgreementId == agreement.AgreementId) >= 2, "two refusals for the budget");
        var refusals = host.Events.Refused.Where(e => e.AgreementId == agreement.AgreementId).ToList();
        Assert.Equal([3L, 4L], refusals.Select(e => e.Decile).Order());
        Assert.All(refusals, e => Assert.Equal(("BUDGET_EXHAUSTED", Cost, Cost / 2, sponsor), (e.Reason, e.RequiredRupiah, e.RemainingRupiah, e.MemberCode)));
        using var opener = new NikOpener([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]);
        Assert.Equal(niks[0], opener.Open(refusals.Single(e => e.Decile == 4).SealedNik, refusals.Single(e => e.Decile == 4).EventId));

        // A raised budget lets the refused ones in on the next list.
        await TestData.AgreementAsync(host, sponsor, 4 * Cost, TestData.Year);
        var (second, _) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, niks.Select((nik, i) => TestData.Worker(nik, $"d{deciles[i]}")));
        Assert.Equal(2, second.Count(r => r.Outcome == EnrolmentOutcome.Enrolled));
        Assert.Equal(2, second.Count(r => r.Outcome == EnrolmentOutcome.Unchanged));
        Assert.Equal(0L, (await TestData.AgreementOfAsync(host, sponsor)).RemainingRupiah);
    }

    [Theory, BothProviders]
    public async Task OnceAPartOfTheListRunsOutNoLaterRowIsClaimedEvenIfItWouldFit(DatabaseProvider provider)
    {
        // Claims are committed two at a time here (RentanHost): decile 1 and 2 in the first part, decile 3 in the second.
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 2 * Cost + Cost / 2);
        var niks = Enumerable.Range(0, 3).Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, niks.Select((nik, i) => TestData.Person(nik, i + 1)));
        var rows = niks.Select((nik, i) => TestData.Worker(nik, $"d{i + 1}")).ToArray();
        // Decile 2 earns Rp3,000,000: its commitment (Rp36,800 a month) is more than the Rp25,200 a month left after decile 1.
        rows[1].DeclaredMonthlyIncomeRupiah = 3_000_000;

        var (results, summary) = await TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, rows);

        var byId = results.ToDictionary(r => r.RowId);
        Assert.Equal(EnrolmentOutcome.Enrolled, byId["d1"].Outcome);
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.BudgetExhausted), (byId["d2"].Outcome, byId["d2"].Reason));
        // Decile 3's Rp16,800 a month would fit what is left, but a richer worker never goes before a poorer one who did not fit.
        Assert.Equal((EnrolmentOutcome.Refused, WorkerReason.BudgetExhausted), (byId["d3"].Outcome, byId["d3"].Reason));
        Assert.Equal((1L, 2L, Cost + Cost / 2), (summary.Enrolled, summary.Refused, summary.RemainingRupiah));
        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((Cost, 1L), (after.CommittedRupiah, after.WorkerCount));
        await EventLog.WaitForAsync(() => host.Events.Refused.Count(e => e.AgreementId == agreement.AgreementId) >= 2, "two refusals for the budget");
        Assert.Equal([2L, 3L], host.Events.Refused.Where(e => e.AgreementId == agreement.AgreementId).Select(e => e.Decile).Order());
    }

    [Theory, BothProviders]
    public async Task TwoListsAtOnceNeverCommitMoreThanTheBudget(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, 5 * Cost);
        var niks = Enumerable.Range(0, 8).Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(sponsor), sponsor, niks.Select(nik => TestData.Person(nik, 2)));

        var lists = await Task.WhenAll(
            TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, niks[..4].Select(n => TestData.Worker(n))),
            TestData.EnrolAsync(host.Rentan(sponsor), sponsor, agreement.AgreementId, niks[4..].Select(n => TestData.Worker(n))));

        var rows = lists.SelectMany(l => l.Rows).ToList();
        Assert.Equal(5, rows.Count(r => r.Outcome == EnrolmentOutcome.Enrolled));
        Assert.Equal(3, rows.Count(r => r.Reason == WorkerReason.BudgetExhausted));
        var after = await TestData.AgreementOfAsync(host, sponsor);
        Assert.Equal((5 * Cost, 0L, 5L), (after.CommittedRupiah, after.RemainingRupiah, after.WorkerCount));

        // The same people sent by two lists at once are enrolled once.
        var sponsor2 = host.NextSponsorCode();
        var agreement2 = await TestData.SponsorWithAgreementAsync(host, sponsor2, 10 * Cost);
        var shared = Enumerable.Range(0, 4).Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(sponsor2), sponsor2, shared.Select(nik => TestData.Person(nik, 1)));
        var twice = await Task.WhenAll(
            TestData.EnrolAsync(host.Rentan(sponsor2), sponsor2, agreement2.AgreementId, shared.Select(n => TestData.Worker(n))),
            TestData.EnrolAsync(host.Rentan(sponsor2), sponsor2, agreement2.AgreementId, shared.Select(n => TestData.Worker(n))));
        Assert.All(twice.SelectMany(l => l.Rows), r => Assert.Contains(r.Outcome, new[] { EnrolmentOutcome.Enrolled, EnrolmentOutcome.Unchanged }));
        Assert.Equal(4, twice.SelectMany(l => l.Rows).Count(r => r.Outcome == EnrolmentOutcome.Enrolled));
        var after2 = await TestData.AgreementOfAsync(host, sponsor2);
        Assert.Equal((4 * Cost, 4L), (after2.CommittedRupiah, after2.WorkerCount));
    }

    [Theory, BothProviders]
    public async Task AClaimOnAPersonAnotherSponsorClaimedMeanwhileIsTakenAndItsShareGoesToTheNextInOrder(DatabaseProvider provider)
    {
        // A list's checks ran before another sponsor's list claimed one of its people: its claim meets that person under its lock.
        var host = fixture.On(provider);
        var first = host.NextSponsorCode();
        var second = host.NextSponsorCode();
        var firstAgreement = await TestData.SponsorWithAgreementAsync(host, first, 10 * Cost);
        var secondAgreement = await TestData.SponsorWithAgreementAsync(host, second, 2 * Cost);
        var niks = Enumerable.Range(0, 3).Select(_ => TestData.NewNik()).ToArray();
        await TestData.UploadAsync(host.Rentan(first), first, [TestData.Person(niks[1], 2)]);
        var (byFirst, _) = await TestData.EnrolAsync(host.Rentan(first), first, firstAgreement.AgreementId, [TestData.Worker(niks[1])]);
        Assert.Equal(EnrolmentOutcome.Enrolled, Assert.Single(byFirst).Outcome);

        var store = host.Services.GetRequiredService<RentanStore>();
        var stored = await store.FindAgreementAsync(secondAgreement.AgreementId, CancellationToken.None);
        Assert.NotNull(stored);
        var now = DateTimeOffset.UtcNow;
        var candidates = niks.Select(nik => new SponsorshipRecord
        {
            SponsorshipId = Guid.CreateVersion7(now).ToString(),
            AgreementId = stored.AgreementId,
            SponsorCode = second,
            Year = stored.Year,
            Nik = long.Parse(nik, CultureInfo.InvariantCulture),
            FullName = "Siti Rahmawati",
            BirthDate = TestData.BirthDate,
            Sex = Domain.Sex.Female,
            DeclaredIncome = stored.DeclaredIncome,
            Decile = 2,
            RegencyCode = "7372",
            Programs = stored.Programs,
            StartDate = TestData.Today,
            EndDate = stored.EndDate,
            Committed = Cost,
            State = SponsorshipStateKind.Pending,
            CreateMemberCode = second,
            CreateTime = now,
            UpdateTime = now,
        }).ToList();

        var result = await store.ClaimAsync(stored.AgreementId, candidates, now, (_, _) => null, budgetSpent: false, CancellationToken.None);

        Assert.Equal(niks[1], Assert.Single(result.Taken).NikDigits);
        Assert.Equal([niks[0], niks[2]], result.Claimed.Select(c => c.NikDigits));
        Assert.Empty(result.Exhausted);
        Assert.Equal(0L, result.RemainingAfter);
        var after = await TestData.AgreementOfAsync(host, second);
        Assert.Equal((2 * Cost, 0L), (after.CommittedRupiah, after.RemainingRupiah));
        Assert.Equal(firstAgreement.AgreementId, (await store.SponsorshipsAsync(stored.Year, [long.Parse(niks[1], CultureInfo.InvariantCulture)], CancellationToken.None)).Single().Value.AgreementId);
    }
}
