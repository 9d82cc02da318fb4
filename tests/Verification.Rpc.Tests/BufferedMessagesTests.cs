using System.Net;
using System.Threading.Channels;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;

namespace Verification.Rpc.Tests;

/// <summary>
/// Several messages arriving in one read, then silence: every one of them must be delivered at once, not when more data
/// (or the end of the stream) happens to arrive. Live streams (a batch still running) depend on it.
/// </summary>
public sealed class BufferedMessagesTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task OurClientDeliversEveryBufferedResponseBeforeTheStreamMovesOn()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        await using var app = builder.Build();
        app.Run(async http =>
        {
            // Three responses in one write and one flush, then nothing until the test has seen them all.
            var frames = Enumerable.Range(1, 3)
                .SelectMany(i => RawHttp2.Frame(new StreamingOutputCallResponse { Payload = new Payload { Body = Google.Protobuf.ByteString.CopyFrom(new byte[i]) } }))
                .ToArray();
            http.Response.ContentType = "application/grpc";
            await http.Response.BodyWriter.WriteAsync(frames);
            await http.Response.BodyWriter.FlushAsync();
            await release.Task.WaitAsync(http.RequestAborted);
            http.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync();
        using var channel = new RpcChannel(app.Urls.First(), new RpcChannelOptions { Retry = RetryPolicy.None });
        using var call = new TestServiceClient(channel).StreamingOutputCall(new StreamingOutputCallRequest());

        var sizes = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var prompt = new CancellationTokenSource(Prompt);
            Assert.True(await call.ResponseStream.MoveNext(prompt.Token));
            sizes.Add(call.ResponseStream.Current.Payload.Body.Length);
        }

        Assert.Equal([1, 2, 3], sizes);
        release.SetResult();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task OurServerHandsEveryBufferedRequestToTheHandlerBeforeTheStreamMovesOn()
    {
        await using var server = await TestServer.StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var requestBody = Channel.CreateUnbounded<byte[]>();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Address + "/grpc.testing.TestService/FullDuplexCall")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StreamedContent(requestBody.Reader),
        };
        request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");

        // Three requests in one write, each asking for one response, and the request stream left open.
        var frames = Enumerable.Range(1, 3).SelectMany(i =>
        {
            var message = new StreamingOutputCallRequest();
            message.ResponseParameters.Add(new ResponseParameters { Size = i });
            return RawHttp2.Frame(message);
        }).ToArray();
        await requestBody.Writer.WriteAsync(frames);

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var sizes = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var prompt = new CancellationTokenSource(Prompt);
            var header = new byte[5];
            await body.ReadExactlyAsync(header, prompt.Token);
            var payload = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
            await body.ReadExactlyAsync(payload, prompt.Token);
            sizes.Add(StreamingOutputCallResponse.Parser.ParseFrom(payload).Payload.Body.Length);
        }

        Assert.Equal([1, 2, 3], sizes);
        requestBody.Writer.Complete();
        Assert.Equal(0, await body.ReadAsync(new byte[1]));
        Assert.Equal("0", string.Join(",", response.TrailingHeaders.GetValues("grpc-status")));
    }

    /// <summary>A request body written as the test goes, flushed after each write, ending when the writer completes.</summary>
    private sealed class StreamedContent(ChannelReader<byte[]> chunks) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await foreach (var chunk in chunks.ReadAllAsync())
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
