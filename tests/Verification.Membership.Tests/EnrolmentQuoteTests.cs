using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>EnrollParticipant answers a BPU enrolment with its contribution quote, so KUR needs no QuoteContribution call.</summary>
public sealed class EnrolmentQuoteTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    [Theory, BothProviders]
    public async Task ABpuEnrolmentCarriesWhatQuoteContributionAnswersForItsStartMonthAndARepeatTheSame(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var client = host.Client("internal-services");
        var request = TestData.Bpu();
        request.Programs.Clear();
        request.Programs.Add([Program.Jkm, Program.Jkk]); // the quote's lines follow the request's order
        request.MonthlyIncomeRupiah = 3_000_000;

        var enrolled = await client.EnrollParticipantAsync(request);
        var quote = new QuoteContributionRequest
        {
            Segment = Segment.Bpu,
            Programs = { Program.Jkm, Program.Jkk },
            MonthlyIncomeRupiah = 3_000_000,
            EffectiveDate = new Date { Year = request.StartDate.Year, Month = request.StartDate.Month, Day = 1 },
        };
        var expected = await client.QuoteContributionAsync(quote);

        Assert.NotNull(enrolled.ContributionQuote);
        Assert.Equal(expected, enrolled.ContributionQuote);
        Assert.Equal(36_800, enrolled.ContributionQuote.TotalRupiah); // 1 % of Rp3,000,000 + JKM Rp6,800
        Assert.Equal([Program.Jkm, Program.Jkk], enrolled.ContributionQuote.Lines.Select(l => l.Program));
        Assert.Equal(enrolled, await client.EnrollParticipantAsync(request));
    }

    [Theory, BothProviders]
    public async Task APuEnrolmentCarriesNoQuoteBecauseItsRiskClassIsTheEmployers(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var enrolled = await host.Client("internal-services").EnrollParticipantAsync(TestData.Pu());

        Assert.Equal(EnrollOutcome.Registered, enrolled.Outcome);
        Assert.Null(enrolled.ContributionQuote);
    }
}
