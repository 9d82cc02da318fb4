using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Membership.V1;

namespace Verification.Abuse.Tests;

/// <summary>Batch and streaming methods charge per item: over the budget a stream slows, then ends RESOURCE_EXHAUSTED; no row is dropped silently.</summary>
public class ItemBudgetTests
{
    private static VerifyMembershipBatchRequest Chunk(int from, int count) => new()
    {
        Items = { Enumerable.Range(from, count).Select(i => new VerifyMembershipBatchItem { RowId = $"r{i}", Nik = "3201010101900001" }) },
    };

    [Fact]
    public async Task AChunkOverTheItemBudgetEndsTheStreamResourceExhaustedAfterEveryEarlierRowIsAnswered()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:ItemsPerSecond=100", "Verification:Access:ItemBurst=1000", "Verification:Access:MaxItemWait=00:00:00");
        using var channel = host.Channel("bank-bri");
        using var call = new MembershipService.MembershipServiceClient(channel).VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await call.RequestStream.WriteAsync(Chunk(0, 1000));
        await call.RequestStream.WriteAsync(Chunk(1000, 1000));
        await call.RequestStream.CompleteAsync();

        var rows = new HashSet<string>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
                foreach (var result in call.ResponseStream.Current.Results) rows.Add(result.RowId);
        });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        var retry = ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan();
        // 1,000 items at 100 a second: the real wait is up to ten seconds (less what refilled while the first chunk was answered).
        Assert.InRange(retry, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"r{i}").ToHashSet(), rows);
    }

    [Fact]
    public async Task WithinTheLongestWaitTheStreamIsSlowedAndEveryRowIsAnswered()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:ItemsPerSecond=2000", "Verification:Access:ItemBurst=1000", "Verification:Access:MaxItemWait=00:01:00");
        using var channel = host.Channel("bank-bri");
        using var call = new MembershipService.MembershipServiceClient(channel).VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(120)));
        for (var i = 0; i < 4; i++) await call.RequestStream.WriteAsync(Chunk(i * 1000, 1000));
        await call.RequestStream.CompleteAsync();
        var rows = new HashSet<string>();
        while (await call.ResponseStream.MoveNext())
            foreach (var result in call.ResponseStream.Current.Results) rows.Add(result.RowId);
        Assert.Equal(4000, rows.Count);
    }
}
