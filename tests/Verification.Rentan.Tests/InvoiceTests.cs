using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Platform.Data;
using Verification.Rentan.Tests.Support;
using Verification.Testing;

namespace Verification.Rentan.Tests;

/// <summary>GetInvoice: a month's lines per worker and program from Membership's BPU rates, the totals, and the year's budget.</summary>
public sealed class InvoiceTests(RentanHostsFixture fixture) : IClassFixture<RentanHostsFixture>
{
    [Theory, BothProviders]
    public async Task TheMonthsInvoiceBillsEveryCoveredWorkerPerProgramWithTheYearsBudget(DatabaseProvider provider)
    {
        var host = fixture.On(provider);
        var sponsor = host.NextSponsorCode();
        var budget = 50_000_000L;
        var agreement = await TestData.SponsorWithAgreementAsync(host, sponsor, budget);
        string a = TestData.NewNik(), b = TestData.NewNik();
        var client = host.Rentan(sponsor);
        await TestData.UploadAsync(client, sponsor, [TestData.Person(a, 1), TestData.Person(b, 2)]);
        var income = TestData.Worker(b);
        income.DeclaredMonthlyIncomeRupiah = 2_000_000;
        await TestData.EnrolAsync(client, sponsor, agreement.AgreementId, [TestData.Worker(a), income]);

        var month = new YearMonth { Year = TestData.Year, Month = TestData.Today.Month };
        var invoice = await TestData.ReadAllAsync(client.GetInvoice(new GetInvoiceRequest { SponsorCode = sponsor, Month = month }));

        var lines = invoice.Where(m => m.PartCase == GetInvoiceResponse.PartOneofCase.Line).Select(m => m.Line).ToList();
        // In the NIK's hash order, which tells nothing of the NIKs: compared as a set.
        Assert.Equal(new[] { a, b }.Order(), lines.Select(l => l.Nik).Order());
        var onMinimum = lines.Single(l => l.Nik == a);
        Assert.Equal((1_000_000L, 1, TestData.MonthlyJkkJkm), (onMinimum.DeclaredMonthlyIncomeRupiah, onMinimum.Months, onMinimum.TotalRupiah));
        Assert.Equal([(Program.Jkk, 10_000L), (Program.Jkm, 6_800L)], onMinimum.Lines.Select(l => (l.Program, l.TotalRupiah)).OrderBy(l => l.Program));
        var onTwoMillion = lines.Single(l => l.Nik == b);
        Assert.Equal([(Program.Jkk, 20_000L), (Program.Jkm, 6_800L)], onTwoMillion.Lines.Select(l => (l.Program, l.TotalRupiah)).OrderBy(l => l.Program));
        var totals = invoice[^1].Totals;
        Assert.NotNull(totals);
        var committed = TestData.MonthsLeft * (TestData.MonthlyJkkJkm + 26_800);
        Assert.Equal((2L, TestData.MonthlyJkkJkm + 26_800, budget, committed, budget - committed, agreement.AgreementId),
            (totals.WorkerCount, totals.TotalRupiah, totals.BudgetRupiah, totals.CommittedRupiah, totals.RemainingRupiah, totals.AgreementId));
        Assert.Equal([(Program.Jkk, 30_000L), (Program.Jkm, 13_600L)], totals.Lines.Select(l => (l.Program, l.TotalRupiah)).OrderBy(l => l.Program));

        // Workers enrolled today are not billed for an earlier month; another sponsor's invoice is denied.
        if (TestData.Today.Month > 1)
        {
            var earlier = await TestData.ReadAllAsync(client.GetInvoice(new GetInvoiceRequest { SponsorCode = sponsor, Month = new YearMonth { Year = TestData.Year, Month = TestData.Today.Month - 1 } }));
            Assert.Equal((0L, 0L), (Assert.Single(earlier).Totals.WorkerCount, earlier[0].Totals.TotalRupiah));
        }

        await RpcAssert.FailsAsync(global::Grpc.Core.StatusCode.PermissionDenied, () => TestData.ReadAllAsync(host.Rentan(host.NextSponsorCode()).GetInvoice(new GetInvoiceRequest { SponsorCode = sponsor, Month = month })));
    }
}
