using System.Diagnostics;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Platform.Access;

namespace Verification.Abuse.Tests;

/// <summary>A call refused for its rate is answered after a pause, so a client that ignores RetryInfo floods only at its streams' pace.</summary>
public sealed class RefusalPauseTests
{
    private static readonly QuoteContributionRequest Quote = new()
    {
        Segment = Verification.Api.Common.V1.Segment.Bpu, MonthlyIncomeRupiah = 1_000_000, Programs = { Verification.Api.Common.V1.Program.Jkk },
    };

    [Fact]
    public async Task ARefusalIsAnsweredAfterThePauseWithRetryInfoAndAnotherMemberIsNotHeld()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Access:RatePerSecond=1", "Verification:Access:Burst=1", "Verification:Access:RefusalDelay=00:00:00.400");
        using var bank = host.Channel("bank-bri");
        var membership = new MembershipService.MembershipServiceClient(bank);
        await membership.QuoteContributionAsync(Quote);

        var clock = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await membership.QuoteContributionAsync(Quote));
        clock.Stop();

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.NotNull(refused.GetDetail<RetryInfo>());
        // Task.Delay never ends early: the answer cannot come before the pause has passed.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(390), $"answered after {clock.Elapsed.TotalMilliseconds:F0} ms");
        using var other = host.Channel("bank-bni");
        Assert.True((await new MembershipService.MembershipServiceClient(other).QuoteContributionAsync(Quote)).TotalRupiah > 0);
        Assert.Equal(0, host.Services.GetRequiredService<RefusalPause>().Waiting);
    }

    [Fact]
    public async Task OnlyTheHeldLimitOfACallersRefusalsWaitTheRestAreAnsweredAtOnceAndACancelledWaitIsReleased()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:RatePerSecond=1", "Verification:Access:Burst=1", "Verification:Access:RefusalDelay=00:10:00", "Verification:Access:MaxHeldRefusals=4");
        using var bank = host.Channel("bank-bri");
        var membership = new MembershipService.MembershipServiceClient(bank);
        await membership.QuoteContributionAsync(Quote);
        var pause = host.Services.GetRequiredService<RefusalPause>();
        using var giveUp = new CancellationTokenSource();

        var calls = Enumerable.Range(0, 10).Select(_ => Outcome(membership.QuoteContributionAsync(Quote, cancellationToken: giveUp.Token).ResponseAsync)).ToList();

        // Six are answered at once; four wait out a ten-minute pause, so they cannot be among the first six.
        var answered = new List<Task<StatusCode>>();
        while (answered.Count < 6)
        {
            var next = await Task.WhenAny(calls.Except(answered));
            answered.Add(next);
        }
        Assert.All(answered, a => Assert.Equal(StatusCode.ResourceExhausted, a.Result));
        Assert.Equal(4, pause.Waiting);
        Assert.Equal(4, calls.Count(c => !c.IsCompleted));

        // The caller gives up: the held refusals end with it and nothing stays held.
        await giveUp.CancelAsync();
        Assert.All(await Task.WhenAll(calls.Except(answered)), c => Assert.Equal(StatusCode.Cancelled, c));
        for (var i = 0; i < 200 && pause.Waiting > 0; i++) await Task.Delay(50);
        Assert.Equal(0, pause.Waiting);
    }

    private static async Task<StatusCode> Outcome(Task call)
    {
        try
        {
            await call;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
