namespace Verification.Abuse.Tests;

/// <summary>
/// HTTP/2 connections that hold the host without working: idle after the preface, a header block that never ends, a peer
/// that stops answering pings, more calls at once than allowed. Each is ended by its own limit, seen frame by frame.
/// </summary>
public class ConnectionTimeoutTests
{
    private const string Watch = "/grpc.health.v1.Health/Watch";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly byte[] EmptyRequest = [0, 0, 0, 0, 0];

    [Fact]
    public async Task AConnectionIdleAfterItsPrefaceIsClosedByTheKeepAliveTimeout()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:KeepAliveTimeout=00:00:02");
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);

        // Thirty seconds is fifteen times the limit: only a connection that is never closed fails.
        Assert.True(await wire.ClosedWithinAsync(Patience), "an idle connection was held");
    }

    [Fact]
    public async Task AHeaderBlockThatNeverEndsIsClosedByTheRequestHeadersTimeout()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:RequestHeadersTimeout=00:00:02");
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);

        // HEADERS without END_HEADERS: the server must wait for a CONTINUATION that never comes, and no other frame may interleave.
        await wire.SendFrameAsync(Http2Wire.HeadersFrame, 0, 1, wire.RequestHeaders(Watch));

        // Kestrel aborts the connection at once (the GOAWAY it queues is not flushed first: seen here, none arrives).
        Assert.True(await wire.ClosedWithinAsync(Patience), "a header block left open held the connection");
        Assert.Empty(Http2Wire.Reply(wire.Frames, 1).HeaderBlocks);
    }

    [Fact]
    public async Task APeerThatStopsAnsweringPingsLosesItsConnectionWhileOneThatAnswersKeepsIt()
    {
        string[] settings = ["Verification:Limits:KeepAlivePingDelay=00:00:01", "Verification:Limits:KeepAlivePingTimeout=00:00:01"];
        await using var host = await AbuseHost.StartAsync(settings);

        // A call in flight on each, so the keep-alive timeout (for connections without calls) is not what ends them.
        await using var live = await Http2Wire.ConnectAsync(host.Uri);
        var liveWatch = await live.CallAsync(Watch, EmptyRequest);
        await using var silent = await Http2Wire.ConnectAsync(host.Uri);
        silent.AnswerPings = false;
        var silentWatch = await silent.CallAsync(Watch, EmptyRequest);

        Assert.True(await silent.ClosedWithinAsync(Patience), "a peer that never answered a ping kept its connection");
        Assert.Contains(silent.Frames, f => f.Type == Http2Wire.PingFrame);
        Assert.Equal(Http2Wire.InternalError, Http2Wire.Read(silent.GoAway ?? throw new Xunit.Sdk.XunitException("closed without GOAWAY")).ErrorCode);
        Assert.Null(Http2Wire.Reply(silent.Frames, silentWatch).GrpcStatus);

        // The answering peer has been pinged again and again by now, and its call is still open.
        Assert.True(await live.WaitAsync(f => f.Count(x => x.Type == Http2Wire.PingFrame && (x.Flags & Http2Wire.AckFlag) == 0) >= 3, Patience), "the live peer was not pinged");
        Assert.False(live.Closed);
        Assert.False(Http2Wire.Reply(live.Frames, liveWatch).Ended);
    }

    [Fact]
    public async Task ACallOverTheConcurrentStreamLimitIsRefusedAloneAndTheOthersGoOn()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:MaxConcurrentStreams=3");
        await using var wire = await Http2Wire.ConnectAsync(host.Uri);
        var watches = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var watch = await wire.CallAsync(Watch, EmptyRequest);
            Assert.True(await wire.WaitAsync(f => Http2Wire.Reply(f, watch).DataBytes > 0, Patience), "a watch within the limit never answered");
            watches.Add(watch);
        }

        var fourth = await wire.ReplyAsync(await wire.CallAsync(Watch, EmptyRequest), Patience);
        Assert.Equal(Http2Wire.RefusedStream, fourth.ResetCode);

        Assert.Null(wire.GoAway);
        Assert.All(watches, w => Assert.False(Http2Wire.Reply(wire.Frames, w).Ended));
    }
}
