using Grpc.Core;
using Grpc.Testing;
using Verification.Api.Channels;
using Verification.Api.Membership.V1;
using Verification.Grpc.Tests.Support;

namespace Verification.Grpc.Tests;

/// <summary>What <see cref="VerificationChannel"/> does for a partner: retries only what the proto says is safe to repeat, and a default deadline.</summary>
public class ChannelBehaviourTests
{
    private static Metadata Failing(string id, int times, StatusCode code = StatusCode.Unavailable) =>
        new() { { "x-probe-id", id }, { "x-fail-times", times.ToString(System.Globalization.CultureInfo.InvariantCulture) }, { "x-fail-code", code.ToString() } };

    [Fact]
    public async Task UnaryCallsTheProtoMarksNoSideEffectsOrIdempotentAreRetriedOnUnavailableUntilAnswered()
    {
        await using var server = await CountingServer.StartAsync();
        using var channel = new VerificationChannel(server.Address);
        var membership = new MembershipService.MembershipServiceClient(channel);

        var verify = ProbeLog.NewId();
        await membership.VerifyMembershipAsync(new VerifyMembershipRequest(), Failing(verify, 2));
        Assert.Equal(3, server.Log.Of("VerifyMembership", verify));

        var enrol = ProbeLog.NewId();
        await membership.EnrollParticipantAsync(new EnrollParticipantRequest(), Failing(enrol, 2));
        Assert.Equal(3, server.Log.Of("EnrollParticipant", enrol));

        // Retries are bounded: a server that stays unavailable sees five attempts, and the caller its status.
        var down = ProbeLog.NewId();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await membership.VerifyMembershipAsync(new VerifyMembershipRequest(), Failing(down, int.MaxValue)));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(5, server.Log.Of("VerifyMembership", down));
    }

    [Fact]
    public async Task CallsNotSafeToRepeatAndFailuresOtherThanUnavailableAreTriedOnce()
    {
        await using var server = await CountingServer.StartAsync();
        using var channel = new VerificationChannel(server.Address);

        // A unary method the proto gives no idempotency level.
        var unary = ProbeLog.NewId();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(), Failing(unary, 2)));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(1, server.Log.Of("UnaryCall", unary));

        // A streaming method, though marked NO_SIDE_EFFECTS: its messages are not replayed.
        var batch = ProbeLog.NewId();
        using (var call = new MembershipService.MembershipServiceClient(channel).VerifyMembershipBatch(Failing(batch, 2)))
        {
            var streamed = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unavailable, streamed.StatusCode);
        }
        Assert.Equal(1, server.Log.Of("VerifyMembershipBatch", batch));

        // A retryable method that fails with something else than UNAVAILABLE.
        var internalError = ProbeLog.NewId();
        var failed = await Assert.ThrowsAsync<RpcException>(async () =>
            await new MembershipService.MembershipServiceClient(channel).VerifyMembershipAsync(new VerifyMembershipRequest(), Failing(internalError, 2, StatusCode.Internal)));
        Assert.Equal(StatusCode.Internal, failed.StatusCode);
        Assert.Equal(1, server.Log.Of("VerifyMembership", internalError));
    }

    [Fact]
    public async Task AChannelWithRetriesOffTriesAnIdempotentCallOnce()
    {
        await using var server = await CountingServer.StartAsync();
        using var channel = new VerificationChannel(server.Address, new ChannelSettings { RetryUnavailable = false });
        var id = ProbeLog.NewId();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new MembershipService.MembershipServiceClient(channel).VerifyMembershipAsync(new VerifyMembershipRequest(), Failing(id, 2)));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(1, server.Log.Of("VerifyMembership", id));
    }

    [Fact]
    public async Task TheDefaultDeadlineAppliesWhenTheCallerSetsNoneAndTheCallersOwnDeadlineWins()
    {
        await using var server = await CountingServer.StartAsync();
        var defaultDeadline = TimeSpan.FromSeconds(15);
        using var channel = new VerificationChannel(server.Address, new ChannelSettings { DefaultDeadline = defaultDeadline });
        var client = new TestService.TestServiceClient(channel);

        // Bounds by causality, not by timing: the deadline is set after "before" and reaches the server before "after".
        var none = ProbeLog.NewId();
        var before = DateTime.UtcNow;
        await client.EmptyCallAsync(new Empty(), Failing(none, 0));
        var after = DateTime.UtcNow;
        AssertDeadlineWithin(server.Log.Deadlines[$"EmptyCall:{none}"], before + defaultDeadline, after + defaultDeadline);

        var own = ProbeLog.NewId();
        var ownTimeout = TimeSpan.FromSeconds(90);
        before = DateTime.UtcNow;
        await client.EmptyCallAsync(new Empty(), new CallOptions(Failing(own, 0), DateTime.UtcNow + ownTimeout));
        after = DateTime.UtcNow;
        AssertDeadlineWithin(server.Log.Deadlines[$"EmptyCall:{own}"], before + ownTimeout, after + ownTimeout);
    }

    /// <summary>The wire carries the remaining time in whole milliseconds rounded up to three significant figures: allow that much.</summary>
    private static void AssertDeadlineWithin(DateTime seen, DateTime earliest, DateTime latest)
    {
        var rounding = TimeSpan.FromMilliseconds((latest - DateTime.UtcNow).TotalMilliseconds / 100 + 2);
        Assert.True(seen >= earliest - TimeSpan.FromMilliseconds(2) && seen <= latest + rounding,
            $"the server saw deadline {seen:O}, expected between {earliest:O} and {latest + rounding:O}");
    }
}
