using Grpc.Core;
using Grpc.Health.V1;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Platform.Hosting;
using Xunit.Abstractions;

namespace Verification.Abuse.Tests;

/// <summary>
/// Oversized request header blocks, sent frame by frame on one HTTP/2 connection, with the host's default limits
/// (metadata 16 KiB, Kestrel's header block 128 KiB): what fails alone, and exactly what ends the whole connection.
/// </summary>
public class HeaderBlockTests(ITestOutputHelper output)
{
    private const string Check = "/grpc.health.v1.Health/Check";
    private const string Watch = "/grpc.health.v1.Health/Watch";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly byte[] EmptyRequest = [0, 0, 0, 0, 0];

    private static readonly ConnectionLimits Defaults = new();

    private static IEnumerable<(string, string)> Padding(int fields, int bytesEach) =>
        Enumerable.Range(0, fields).Select(i => ($"x-padding-{i:000}", new string('a', bytesEach)));

    private static IEnumerable<(string, string)> SmallFields(int fields) => Enumerable.Range(0, fields).Select(i => ($"x-field-{i:0000}", "v"));

    /// <summary>A health watch that has answered SERVING and stays open: a call in flight on the connection.</summary>
    private static async Task<int> WatchInFlightAsync(Http2Wire wire)
    {
        var watch = await wire.CallAsync(Watch, EmptyRequest);
        Assert.True(await wire.WaitAsync(f => Http2Wire.Reply(f, watch).DataBytes > 0, Patience), "the health watch never answered");
        return watch;
    }

    private void Record(Http2Wire wire)
    {
        foreach (var frame in wire.Frames) output.WriteLine($"frame type {frame.Type} flags {frame.Flags} stream {frame.StreamId} length {frame.Payload.Length}");
    }

    [Fact]
    public async Task EveryHeaderBlockUpToTwiceKestrelsLimitFailsOnlyItsOwnCallAndTheConnectionGoesOn()
    {
        Assert.Equal((16 * 1024, 128 * 1024), (Defaults.MaxRequestMetadataSize, Defaults.MaxHeaderBlockSize));
        await using var host = await AbuseHost.StartAsync();
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);
        var watch = await WatchInFlightAsync(wire);

        var overMetadata = await wire.CallAsync(Check, EmptyRequest, Padding(4, 16 * 1024));    // 64 KiB: over the metadata limit, under Kestrel's
        var overKestrel = await wire.CallAsync(Check, EmptyRequest, Padding(25, 8 * 1024));     // 200 KiB: over Kestrel's 128 KiB, under twice it
        var manySmall = await wire.CallAsync(Check, EmptyRequest, SmallFields(300));            // 300 fields in 13 KB: under every limit
        var tooManyFields = await wire.CallAsync(Check, EmptyRequest, SmallFields(700));        // 700 fields: over the field count, under twice it
        var normal = await wire.CallAsync(Check, EmptyRequest);

        var metadata = await wire.ReplyAsync(overMetadata, Patience);
        Assert.Equal(("200", "8"), (metadata.Status, metadata.GrpcStatus));
        Assert.Contains("larger than 16384 bytes", Uri.UnescapeDataString(metadata.GrpcMessage ?? ""), StringComparison.Ordinal);

        // Kestrel answers HTTP 431 on the stream itself before any application code (gRPC clients read it as UNKNOWN).
        var kestrel = await wire.ReplyAsync(overKestrel, Patience);
        Assert.Equal(("431", true, (string?)null), (kestrel.Status, kestrel.Ended, kestrel.GrpcStatus));
        var fields = await wire.ReplyAsync(tooManyFields, Patience);
        Assert.Equal(("431", true), (fields.Status, fields.Ended));

        // Kestrel's own default (100 fields, twice that closing the connection) would have ended this one and everything after it.
        var small = await wire.ReplyAsync(manySmall, Patience);
        Assert.Equal(("200", "0"), (small.Status, small.GrpcStatus));
        var healthy = await wire.ReplyAsync(normal, Patience);
        Assert.Equal(("200", "0"), (healthy.Status, healthy.GrpcStatus));

        Record(wire);
        Assert.False(Http2Wire.Reply(wire.Frames, watch).Ended, "the call in flight was ended");
        Assert.Null(wire.GoAway);
        Assert.False(wire.Closed);
    }

    [Fact]
    public async Task AHeaderBlockOverTwiceKestrelsLimitEndsTheConnectionWithProtocolErrorAndTheCallsInFlightOnIt()
    {
        await using var host = await AbuseHost.StartAsync();
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);
        var watch = await WatchInFlightAsync(wire);

        var oversized = await wire.CallAsync(Check, EmptyRequest, Padding(40, 8 * 1024)); // 320 KiB decoded, over twice 128 KiB

        Assert.True(await wire.ClosedWithinAsync(Patience), "the connection stayed open");
        Record(wire);
        var goAway = wire.GoAway ?? throw new Xunit.Sdk.XunitException("the connection closed without GOAWAY");
        Assert.Equal((oversized, Http2Wire.ProtocolError), Http2Wire.Read(goAway));
        // The watch in flight got no status: the connection ended under it.
        Assert.Null(Http2Wire.Reply(wire.Frames, watch).GrpcStatus);
        Assert.Empty(Http2Wire.Reply(wire.Frames, oversized).HeaderBlocks);

        await AnotherConnectionIsServedAsync(host);
    }

    [Fact]
    public async Task OneHeaderFieldOverTheFieldLimitEndsTheConnectionWithCompressionError()
    {
        await using var host = await AbuseHost.StartAsync();
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);
        var watch = await WatchInFlightAsync(wire);

        var oversized = await wire.CallAsync(Check, EmptyRequest, Padding(1, 130 * 1024)); // one value over the 128 KiB field limit

        Assert.True(await wire.ClosedWithinAsync(Patience), "the connection stayed open");
        Record(wire);
        var goAway = wire.GoAway ?? throw new Xunit.Sdk.XunitException("the connection closed without GOAWAY");
        Assert.Equal((oversized, Http2Wire.CompressionError), Http2Wire.Read(goAway));
        Assert.Null(Http2Wire.Reply(wire.Frames, watch).GrpcStatus);

        await AnotherConnectionIsServedAsync(host);
    }

    [Fact]
    public async Task MoreThanTwiceTheFieldCountEndsTheConnectionWithProtocolError()
    {
        await using var host = await AbuseHost.StartAsync();
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);

        var oversized = await wire.CallAsync(Check, EmptyRequest, SmallFields(1100)); // 1,100 fields of 12 bytes: over twice the count, small in bytes

        Assert.True(await wire.ClosedWithinAsync(Patience), "the connection stayed open");
        Record(wire);
        var goAway = wire.GoAway ?? throw new Xunit.Sdk.XunitException("the connection closed without GOAWAY");
        Assert.Equal((oversized, Http2Wire.ProtocolError), Http2Wire.Read(goAway));
    }

    [Fact]
    public async Task AWellBehavedClientRefusesToSendOverTheAdvertisedLimitAndItsOtherCallsGoOn()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        var client = new MembershipService.MembershipServiceClient(channel);
        using var open = client.VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await open.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = "before", Nik = "3201010101900001" } } });
        Assert.True(await open.ResponseStream.MoveNext());

        // 200 KiB: grpc-dotnet (SocketsHttpHandler) honours the server's SETTINGS_MAX_HEADER_LIST_SIZE and never sends it.
        var oversized = new Metadata();
        foreach (var (name, value) in Padding(25, 8 * 1024)) oversized.Add(name, value);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.VerifyMembershipAsync(
            new VerifyMembershipRequest { Nik = "3201010101900001" }, new CallOptions(oversized, DateTime.UtcNow.AddSeconds(30))));
        output.WriteLine($"{ex.StatusCode}: {ex.Status.Detail} ({ex.Status.DebugException?.GetType().Name}: {ex.Status.DebugException?.Message})");
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("131072", ex.Status.DebugException?.Message ?? ex.Status.Detail, StringComparison.Ordinal);

        await open.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = "after", Nik = "3201010101900001" } } });
        Assert.True(await open.ResponseStream.MoveNext());
        Assert.Equal("after", Assert.Single(open.ResponseStream.Current.Results).RowId);
        await open.RequestStream.CompleteAsync();
        Assert.False(await open.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, open.GetStatus().StatusCode);
    }

    private static async Task AnotherConnectionIsServedAsync(AbuseHost host)
    {
        await using var next = await Http2Wire.ConnectAsync(host.Uri);
        var reply = await next.ReplyAsync(await next.CallAsync(Check, EmptyRequest), Patience);
        Assert.Equal(("200", "0"), (reply.Status, reply.GrpcStatus));
    }
}
