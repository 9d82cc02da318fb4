using Grpc.Core;
using Grpc.Testing;
using Verification.Grpc.Tests.Support;

namespace Verification.Grpc.Tests;

/// <summary>A module-to-module call (<c>ModuleClient&lt;T&gt;</c> from the client factory) made while serving a partner inherits its deadline and cancellation.</summary>
public class DeadlinePropagationTests(WireHostFixture fixture) : IClassFixture<WireHostFixture>
{
    private WireHost Host => fixture.Host;

    [Fact]
    public async Task AModuleCallMadeWhileServingACallerInheritsTheCallersRemainingDeadline()
    {
        var id = ProbeLog.NewId();
        using var channel = Host.Channel("bank-bri");
        // Far sooner than the host's internal default (two minutes in the test host), so only propagation can explain a downstream deadline this close.
        await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(),
            new CallOptions(new Metadata { { "x-probe", "nested" }, { "x-probe-id", id } }, DateTime.UtcNow.AddSeconds(20)));

        var upstream = Host.Log.Calls["upstream-" + id];
        Assert.True(Host.Log.Calls.TryGetValue(id, out var downstream), "the module call did not reach the probe");
        // The wire carries the remaining time, so the downstream view may be later by the transit time and the header's round-up (3 significant figures of ms).
        var transit = downstream!.ReceivedAt - upstream.ReceivedAt;
        var roundUp = TimeSpan.FromMilliseconds((upstream.Deadline - upstream.ReceivedAt).TotalMilliseconds / 100 + 2);
        Assert.True(downstream.Deadline <= upstream.Deadline + transit + roundUp,
            $"downstream deadline {downstream.Deadline:O} is later than the caller's {upstream.Deadline:O} (+{transit.TotalMilliseconds} ms transit)");
        Assert.True(downstream.Deadline > downstream.ReceivedAt, "the module call arrived without time left");
    }

    [Fact]
    public async Task ACallersCancellationReachesTheModuleCallItMade()
    {
        var id = ProbeLog.NewId();
        using var channel = Host.Channel("bank-bri");
        using var cancellation = new CancellationTokenSource();
        using var call = new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(),
            new CallOptions(new Metadata { { "x-probe", "nested-wait" }, { "x-probe-id", id } }, cancellationToken: cancellation.Token));
        // The downstream handler (same id) is waiting on its own token.
        await Host.Log.Started(id).Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancellation.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await Host.Log.Cancelled(id).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
