using Grpc.Core;
using Grpc.Health.V1;
using Verification.Api;
using Verification.Api.Membership.V1;

namespace Verification.Abuse.Tests;

/// <summary>A call with oversized metadata fails alone: the connection and the calls in flight on it go on.</summary>
public class MetadataLimitTests
{
    [Fact]
    public async Task A64KilobyteHeaderFailsItsOwnCallWhileAStreamOnTheSameConnectionCompletes()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        var client = new MembershipService.MembershipServiceClient(channel);

        // A stream held open on the channel's connection: if that connection closed, it would fail.
        using var open = client.VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await open.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = "before", Nik = "3201010101900001" } } });
        Assert.True(await open.ResponseStream.MoveNext());

        var oversized = new Metadata { { "x-padding", new string('a', 64 * 1024) } };
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.VerifyMembershipAsync(
            new VerifyMembershipRequest { Nik = "3201010101900001" }, new CallOptions(oversized, DateTime.UtcNow.AddSeconds(30))));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("request metadata is larger than 16384 bytes", ex.Status.Detail);

        // The stream opened before goes on: a second chunk is answered and it completes OK.
        await open.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = "after", Nik = "3201010101900001" } } });
        Assert.True(await open.ResponseStream.MoveNext());
        Assert.Equal("after", Assert.Single(open.ResponseStream.Current.Results).RowId);
        await open.RequestStream.CompleteAsync();
        Assert.False(await open.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, open.GetStatus().StatusCode);

        // And calls within the limit keep being answered.
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }
}
