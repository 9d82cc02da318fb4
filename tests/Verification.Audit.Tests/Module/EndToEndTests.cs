using System.Diagnostics;
using Verification.Api.Audit.V1;
using Grpc.Core;
using Verification.Api;
using Xunit.Abstractions;

namespace Verification.Audit.Tests.Module;

/// <summary>Timing tests run alone: on a shared two-core machine, parallel host start-ups would be what they measure.</summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;

[Collection(nameof(TimingCollection))]
public sealed class EndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ADenialCausedByACallAppearsInTraceWithinASecondWithTheCallsTraceId()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.WaitForTreeHeadAsync(0);
        // A warm server, as in production: the first denial and the first Trace build their EF models and queries.
        await Assert.ThrowsAsync<RpcException>(async () => await new AuditService.AuditServiceClient(host.Channel("kemnaker")).GetTreeHeadAsync(new GetTreeHeadRequest()));
        await host.WaitForEntryAsync(new TraceRequest { MemberCode = "kemnaker" }, _ => true, TimeSpan.FromSeconds(10));

        string traceId;
        RpcException denied;
        var clock = Stopwatch.StartNew();
        using (AuditTestHost.TraceCall(out traceId))
        {
            denied = await Assert.ThrowsAsync<RpcException>(async () => await new AuditService.AuditServiceClient(host.Channel("bank-bri")).GetTreeHeadAsync(new GetTreeHeadRequest()));
        }

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var entry = await host.WaitForEntryAsync(
            new TraceRequest { MemberCode = "bank-bri" },
            e => e.EventType == "AccessDenied",
            TimeSpan.FromSeconds(1));
        var found = DateTimeOffset.UtcNow;
        output.WriteLine($"call to Trace: {clock.ElapsedMilliseconds} ms (occurred → appended {(entry.AppendTime.ToDateTimeOffset() - entry.OccurTime.ToDateTimeOffset()).TotalMilliseconds} ms, appended → found {(found - entry.AppendTime.ToDateTimeOffset()).TotalMilliseconds} ms)");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(traceId, entry.TraceId);
        Assert.Equal("bank-bri", entry.ActingMemberCode);
        Assert.Equal("bank-bri", entry.Keys.MemberCode);
    }
}
