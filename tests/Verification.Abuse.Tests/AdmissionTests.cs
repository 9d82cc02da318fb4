using System.Diagnostics;
using System.Text.RegularExpressions;
using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Api.Membership.V1;

namespace Verification.Abuse.Tests;

/// <summary>One admission step before any work: authenticate, take a rate token, then authorize; floods are throttled and audited in bounded rows.</summary>
public partial class AdmissionTests
{
    [GeneratedRegex("\"suppressedRepeats\":(\\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex SuppressedRepeats();

    private static int Repeats(string payload) => SuppressedRepeats().Match(payload) is { Success: true } m ? int.Parse(m.Groups[1].Value) : 0;

    /// <summary>A denial row stands for itself; a window's closing row (suppressedRepeats above 0) for the repeats it counts.</summary>
    private static int Denials(string payload) => Repeats(payload) is > 0 and var repeats ? repeats : 1;

    [Fact]
    public async Task ADenialFloodIsThrottledAndAuditedAsAFewRowsThatCountEveryDenial()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:RatePerSecond=20", "Verification:Access:Burst=20", "Verification:Access:DenialWindow=00:00:02",
            // Counts refusals one by one: the pause that slows a flood (RefusalPauseTests) would make 400 calls take minutes;
            // the member's call rate is what this test throttles on, not its denial budget (the next test).
            "Verification:Access:RefusalDelay=00:00:00", "Verification:Access:DeniedCallsPerSecond=1000", "Verification:Access:DeniedCallsBurst=1000");
        using var channel = host.Channel("auditor-bpk");
        var membership = new MembershipService.MembershipServiceClient(channel);
        var denied = 0;
        var throttled = 0;
        RetryInfo? retry = null;
        var flood = Stopwatch.StartNew();
        for (var i = 0; i < 400; i++)
        {
            try
            {
                await membership.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = "3201010101900001" });
                Assert.Fail("an auditor may not check housing-benefit eligibility");
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
            {
                denied++;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                throttled++;
                retry ??= ex.GetDetail<RetryInfo>();
            }
        }
        flood.Stop();

        // Denials took tokens: most of the flood never reached the role check.
        Assert.True(throttled > 0, "no RESOURCE_EXHAUSTED in the flood");
        Assert.InRange(denied, 1, 400 - throttled);
        Assert.NotNull(retry);
        Assert.InRange(retry!.RetryDelay.ToTimeSpan(), TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1.0 / 20));

        // Every denial is accounted for, in few rows.
        IReadOnlyList<string> rows = [];
        for (var attempt = 0; attempt < 300 && rows.Sum(Denials) < denied; attempt++)
        {
            await Task.Delay(100);
            rows = await host.AuditedDenialsAsync("auditor-bpk");
        }
        Assert.True(denied == rows.Sum(Denials), $"{denied} denied, rows: {string.Join(" | ", rows)}");
        var windows = (int)Math.Ceiling(flood.Elapsed.TotalSeconds / 2) + 1;
        Assert.True(rows.Count <= 2 * windows, $"{rows.Count} audit rows for {denied} denials in {flood.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task DenialsHaveTheirOwnSmallBudgetWellBelowTheMembersCallRateAndTheMembersOwnCallsGoOn()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:RatePerSecond=1000", "Verification:Access:Burst=1000", "Verification:Access:DeniedCallsPerSecond=5",
            "Verification:Access:DeniedCallsBurst=5", "Verification:Access:RefusalDelay=00:00:00");
        using var channel = host.Channel("auditor-bpk");
        var membership = new MembershipService.MembershipServiceClient(channel);
        var denied = 0;
        RpcException? throttled = null;
        var flood = Stopwatch.StartNew();
        for (var i = 0; i < 60; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await membership.CheckHousingBenefitEligibilityAsync(new CheckHousingBenefitEligibilityRequest { Nik = "3201010101900001" }));
            if (ex.StatusCode == StatusCode.PermissionDenied) denied++;
            else throttled ??= ex;
        }
        flood.Stop();

        // The burst, plus what the rate refilled while the flood ran: far fewer than the 60 calls and the member's 1,000/s.
        Assert.InRange(denied, 5, 5 + (int)Math.Ceiling(flood.Elapsed.TotalSeconds * 5) + 1);
        Assert.NotNull(throttled);
        Assert.Equal(StatusCode.ResourceExhausted, throttled!.StatusCode);
        Assert.InRange(throttled.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1.0 / 5));
        // Its allowed calls are not held back by its denials.
        await membership.QuoteContributionAsync(new QuoteContributionRequest
        {
            Segment = Verification.Api.Common.V1.Segment.Bpu, MonthlyIncomeRupiah = 1_000_000, Programs = { Verification.Api.Common.V1.Program.Jkk },
        });
    }

    [Fact]
    public async Task AnUnauthenticatedFloodIsThrottledByAddressAndAMemberOnTheSameAddressStillGetsIn()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Access:UnauthenticatedRatePerSecond=10", "Verification:Access:UnauthenticatedBurst=10", "Verification:Access:RefusalDelay=00:00:00");
        using var stranger = new VerificationChannel(host.Address, new ChannelSettings { BearerToken = "not-a-token", RetryUnavailable = false });
        var membership = new MembershipService.MembershipServiceClient(stranger);
        var codes = new List<StatusCode>();
        for (var i = 0; i < 100; i++)
        {
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await membership.QuoteContributionAsync(new QuoteContributionRequest()));
            codes.Add(ex.StatusCode);
        }
        Assert.Contains(StatusCode.Unauthenticated, codes);
        Assert.Contains(StatusCode.ResourceExhausted, codes);
        Assert.Equal(100, codes.Count(c => c is StatusCode.Unauthenticated or StatusCode.ResourceExhausted));

        using var bank = host.Channel("bank-bri");
        var quote = await new MembershipService.MembershipServiceClient(bank).QuoteContributionAsync(new QuoteContributionRequest
        {
            Segment = Verification.Api.Common.V1.Segment.Bpu, MonthlyIncomeRupiah = 1_000_000, Programs = { Verification.Api.Common.V1.Program.Jkk },
        });
        Assert.True(quote.TotalRupiah > 0);
    }

    [Fact]
    public async Task RetryInfoIsTheRealWaitForTheNextToken()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Access:RatePerSecond=1", "Verification:Access:Burst=1");
        using var channel = host.Channel("bank-bri");
        var membership = new MembershipService.MembershipServiceClient(channel);
        var request = new QuoteContributionRequest { Segment = Verification.Api.Common.V1.Segment.Bpu, MonthlyIncomeRupiah = 1_000_000, Programs = { Verification.Api.Common.V1.Program.Jkk } };
        await membership.QuoteContributionAsync(request);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await membership.QuoteContributionAsync(request));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        var delay = ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan();
        Assert.InRange(delay, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1));
        Assert.Equal(((long)Math.Ceiling(delay.TotalMilliseconds)).ToString(), ex.Trailers.GetValue(RpcErrors.RetryPushbackTrailer));

        // Retrying after the given delay (the pushback's whole milliseconds) is admitted.
        await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds) + 5));
        await membership.QuoteContributionAsync(request);
    }
}
