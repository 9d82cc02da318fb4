using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Testing;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;

namespace Verification.Rpc.Tests;

public sealed class ServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(o => o.MaxReceiveMessageSize = 1 << 20);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public class ServerProtocolTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string UnaryPath = "/grpc.testing.TestService/UnaryCall";
    private TestServer Server => fixture.Server;

    private static byte[] SmallRequest => RawHttp2.Frame(new SimpleRequest { ResponseSize = 10 });

    [Fact]
    public async Task AnswersAUnaryCallWithStatusZeroInTheTrailers()
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest);
        Assert.Equal(HttpStatusCode.OK, reply.HttpStatus);
        Assert.Equal("application/grpc", reply.Headers.GetValueOrDefault("Content-Type") ?? "application/grpc");
        Assert.Equal("0", reply.Trailers["grpc-status"]);
        Assert.False(reply.Headers.ContainsKey("grpc-status"));
        var response = SimpleResponse.Parser.ParseFrom(reply.Body.AsSpan(5).ToArray());
        Assert.Equal(10, response.Payload.Body.Length);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData("application/grpc-web")]
    [InlineData(null)]
    public async Task ANonGrpcContentTypeIsRefusedWith415(string? contentType)
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, contentType);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, reply.HttpStatus);
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task GrpcContentTypeVariantsAreAccepted(string contentType)
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, contentType);
        Assert.Equal("0", reply.GrpcStatus);
    }

    [Theory]
    [InlineData("/grpc.testing.TestService/NoSuchMethod", "Method is unimplemented.")]
    [InlineData("/grpc.testing.NoSuchService/Call", "Service is unimplemented.")]
    [InlineData("/grpc.testing.TestService/UnimplementedCall", null)]
    public async Task UnknownServicesAndMethodsAreUnimplementedAsTrailersOnly(string path, string? message)
    {
        var reply = await RawHttp2.PostAsync(Server.Address, path, RawHttp2.Frame(new Empty()));
        Assert.Equal(HttpStatusCode.OK, reply.HttpStatus);
        Assert.Equal("12", reply.Headers["grpc-status"]);
        Assert.Empty(reply.Body);
        if (message is not null) Assert.Equal(message, reply.GrpcMessage);
    }

    [Fact]
    public async Task ErrorsBeforeAnyMessageAreTrailersOnlyAndCarryThePercentEncodedMessage()
    {
        var request = new SimpleRequest { ResponseStatus = new EchoStatus { Code = 9, Message = "100% not ready\n" } };
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, RawHttp2.Frame(request));
        Assert.Equal("9", reply.Headers["grpc-status"]);
        Assert.Equal("100%25 not ready%0A", reply.Headers["grpc-message"]);
        Assert.Empty(reply.Trailers);
    }

    [Fact]
    public async Task MessagesSplitAcrossManyDataFramesAndSeveralPerFrameAreReassembled()
    {
        using var channel = Server.Channel();
        var client = new TestServiceClient(channel);
        using var call = client.StreamingInputCall();
        var sizes = new[] { 0, 1, 70_000, 3, 0, 200_000, 17 };
        foreach (var size in sizes)
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } });
        await call.RequestStream.CompleteAsync();
        Assert.Equal(sizes.Sum(), (await call.ResponseAsync).AggregatedPayloadSize);

        // Several frames in one DATA frame, including zero-length messages.
        var body = new[] { 5, 0, 7 }.SelectMany(size => RawHttp2.Frame(new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } })).ToArray();
        var reply = await RawHttp2.PostAsync(Server.Address, "/grpc.testing.TestService/StreamingInputCall", body);
        Assert.Equal("0", reply.GrpcStatus);
        Assert.Equal(12, StreamingInputCallResponse.Parser.ParseFrom(reply.Body.AsSpan(5).ToArray()).AggregatedPayloadSize);
    }

    [Fact]
    public async Task ARequestOverTheReceiveLimitIsResourceExhausted()
    {
        using var channel = Server.Channel();
        var request = new SimpleRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[(1 << 20) + 1]) } };
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).UnaryCall(request));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task AResponseOverTheSendLimitIsResourceExhausted()
    {
        using var channel = Server.Channel();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).UnaryCall(new SimpleRequest { ResponseSize = 5 << 20 }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task TheClientRefusesAResponseOverItsReceiveLimit()
    {
        using var channel = Server.Channel(new RpcChannelOptions { MaxReceiveMessageSize = 1000 });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).UnaryCall(new SimpleRequest { ResponseSize = 2000 }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Theory]
    [InlineData("99999999n")]
    [InlineData("200000u")]
    [InlineData("200m")]
    [InlineData("1S")]
    public async Task AGrpcTimeoutCancelsTheHandlerAndAnswersDeadlineExceeded(string timeout)
    {
        Server.Log.ResetCancellation();
        var stopwatch = Stopwatch.StartNew();
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-timeout", timeout), ("x-probe", "wait")]);
        Assert.Equal("4", reply.GrpcStatus);
        Assert.True(await Server.Log.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(90), TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("1H")]
    [InlineData("1M")]
    public async Task LongTimeoutsInHoursAndMinutesLetTheCallFinish(string timeout)
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-timeout", timeout)]);
        Assert.Equal("0", reply.GrpcStatus);
    }

    [Fact]
    public async Task AHandlerThatEndsInsideItsTokensCallbackStillAnswersDeadlineExceeded()
    {
        for (var i = 0; i < 5; i++)
        {
            var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-timeout", "50m"), ("x-probe", "cancel-inline")]);
            Assert.Equal("4", reply.GrpcStatus);
        }
    }

    [Fact]
    public async Task TheServerAnswersDeadlineExceededEvenWhenTheHandlerIgnoresItsToken()
    {
        var stopwatch = Stopwatch.StartNew();
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-timeout", "100m"), ("x-probe", "ignore-deadline")]);
        Assert.Equal("4", reply.GrpcStatus);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(1200), $"took {stopwatch.Elapsed}");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("123456789S")]
    [InlineData("10s")]
    public async Task AMalformedTimeoutIsInternal(string timeout)
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-timeout", timeout)]);
        Assert.Equal("13", reply.GrpcStatus);
    }

    [Fact]
    public async Task AClientResetReachesTheHandlerAsCancellation()
    {
        Server.Log.ResetCancellation();
        using var channel = Server.Channel();
        var call = new TestServiceClient(channel).FullDuplexCall();
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Size = 1 });
        await call.RequestStream.WriteAsync(request);
        Assert.True(await call.ResponseStream.MoveNext());
        call.Dispose();
        Assert.True(await Server.Log.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task AWriteThatFailsAfterTheServerEndedTheCallLeavesTheResponsesToTheReader()
    {
        using var channel = Server.Channel();
        using var call = new TestServiceClient(channel).FullDuplexCall(new CallOptions(Headers: new Metadata { { "x-probe", "two-then-unavailable" } }));
        // Keep writing until a write fails: by then the server has answered twice and ended the call.
        RpcException? writeFailure = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (writeFailure is null && DateTime.UtcNow < until)
        {
            try
            {
                await call.RequestStream.WriteAsync(new StreamingOutputCallRequest());
            }
            catch (RpcException ex)
            {
                writeFailure = ex;
            }
        }
        Assert.NotNull(writeFailure);
        Assert.Equal(StatusCode.Unavailable, writeFailure.StatusCode);

        // The failed write learned the status by reading the response; the reader must still get both messages first.
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(1, call.ResponseStream.Current.Payload.Body.Length);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(2, call.ResponseStream.Current.Payload.Body.Length);
        var end = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unavailable, end.StatusCode);
    }

    [Fact]
    public async Task BinaryMetadataIsAcceptedPaddedOrUnpaddedAndSentUnpadded()
    {
        foreach (var value in new[] { "AQ==", "AQ" })
        {
            var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("x-grpc-test-echo-trailing-bin", value)]);
            Assert.Equal("0", reply.GrpcStatus);
            Assert.Equal("AQ", reply.Trailers["x-grpc-test-echo-trailing-bin"]);
        }
    }

    [Fact]
    public async Task AnUnsupportedEncodingIsUnimplementedAndListsWhatIsAccepted()
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("grpc-encoding", "snappy")]);
        Assert.Equal("12", reply.GrpcStatus);
        Assert.Equal("identity,gzip", reply.Headers["grpc-accept-encoding"]);
    }

    [Fact]
    public async Task ACompressedFlagWithoutAnEncodingIsInternal()
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, RawHttp2.Frame(new SimpleRequest(), flag: 1));
        Assert.Equal("13", reply.GrpcStatus);
    }

    [Fact]
    public async Task CorruptGzipDataIsInternal()
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, RawHttp2.Frame([1, 2, 3, 4, 5, 6, 7, 8], flag: 1), headers: [("grpc-encoding", "gzip")]);
        Assert.Equal("13", reply.GrpcStatus);
    }

    [Fact]
    public async Task GzipRequestsAndResponsesWorkBothWays()
    {
        using var channel = Server.Channel(new RpcChannelOptions { RequestCompression = "gzip" });
        var request = new SimpleRequest { ResponseSize = 50_000, Payload = new Payload { Body = ByteString.CopyFrom(new byte[50_000]) }, ExpectCompressed = new BoolValue { Value = true }, ResponseCompressed = new BoolValue { Value = true } };
        var response = await new TestServiceClient(channel).UnaryCall(request);
        Assert.Equal(50_000, response.Payload.Body.Length);

        var raw = await RawHttp2.PostAsync(Server.Address, UnaryPath, RawHttp2.Frame(new SimpleRequest { ResponseSize = 50_000, ResponseCompressed = new BoolValue { Value = true } }), headers: [("grpc-accept-encoding", "gzip")]);
        Assert.Equal("gzip", raw.Headers["grpc-encoding"]);
        Assert.Equal(1, raw.Body[0]);
        Assert.True(raw.Body.Length < 1000);
    }

    [Fact]
    public async Task ResponsesAreNotCompressedForACallerThatDoesNotAcceptGzip()
    {
        var raw = await RawHttp2.PostAsync(Server.Address, UnaryPath, RawHttp2.Frame(new SimpleRequest { ResponseSize = 5000, ResponseCompressed = new BoolValue { Value = true } }));
        Assert.Equal("0", raw.GrpcStatus);
        Assert.Equal(0, raw.Body[0]);
    }

    [Fact]
    public async Task AnUnhandledExceptionIsInternalWithAGenericMessage()
    {
        using var channel = Server.Channel();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "throw" } })));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal("Exception was thrown by handler.", ex.Status.Detail);
        Assert.DoesNotContain("3374", ex.ToString());
    }

    [Fact]
    public async Task InvalidArgumentCarriesBadRequestFieldViolations()
    {
        using var channel = Server.Channel();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "bad-request" } })));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var badRequest = ex.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(["payload.body", "response_size"], badRequest!.FieldViolations.Select(v => v.Field));
        Assert.Equal((int)StatusCode.InvalidArgument, ex.RichStatus!.Code);
    }

    [Fact]
    public async Task AStatusSetByTheHandlerIsSentWithoutAResponse()
    {
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, SmallRequest, headers: [("x-probe", "set-status")]);
        Assert.Equal("9", reply.GrpcStatus);
        Assert.Empty(reply.Body);
    }

    [Fact]
    public async Task InterceptorsRunInRegistrationOrderAndCanRefuseACall()
    {
        using var channel = Server.Channel();
        var client = new TestServiceClient(channel);
        while (Server.Log.InterceptorCalls.TryDequeue(out _)) { }
        await client.UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "interceptors" } }));
        Assert.Equal(["outer:before:UnaryCall", "inner:before:UnaryCall", "inner:after", "outer:after"], Server.Log.InterceptorCalls.ToArray());

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-refuse", "1" } })));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task IdempotentCallsAreRetriedOnUnavailableAndOthersAreNot()
    {
        using var channel = Server.Channel();
        var client = new TestServiceClient(channel);
        var key = Guid.NewGuid().ToString("N");
        var response = await client.UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", $"unavailable-2-{key}" } }, Idempotent: true));
        Assert.Equal("3", response.Username);

        var other = Guid.NewGuid().ToString("N");
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", $"unavailable-2-{other}" } })));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(1, Server.Log.Attempts[other]);
        Assert.NotNull(ex.GetDetail<RetryInfo>());
    }

    [Fact]
    public async Task ACallMadeWhileHandlingACallInheritsTheRemainingDeadline()
    {
        using var channel = Server.Channel();
        var response = await new TestServiceClient(channel).UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "nested" } }, Deadline: DateTimeOffset.UtcNow.AddSeconds(3)));
        var parentDeadline = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(response.Username, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Server.Log.NestedDeadlines.TryGetValue(response.OauthScope, out var nested), "the nested call did not reach the server with its id");
        // The deadline travels as a relative grpc-timeout, so the nested server's view drifts by the transit time only.
        Assert.True(nested <= parentDeadline.AddMilliseconds(250), $"nested {nested:O} after parent {parentDeadline:O}");
        Assert.True(nested > DateTimeOffset.UtcNow.AddSeconds(1), "the nested call should have most of the 3 s left, not the channel's 30 s default either");
        Assert.True(nested < DateTimeOffset.UtcNow.AddSeconds(4));
    }

    [Fact]
    public async Task AnExpiredClientDeadlineFailsWithoutReachingTheServer()
    {
        using var channel = Server.Channel();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).EmptyCall(new Empty(), new CallOptions(Deadline: DateTimeOffset.UtcNow.AddSeconds(-1))));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task AnUnreachableServerIsUnavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var channel = new RpcChannel($"http://127.0.0.1:{port}", new RpcChannelOptions { Retry = RetryPolicy.None });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestServiceClient(channel).EmptyCall(new Empty()));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task TraceContextFlowsFromTheClientCallToTheServerCall()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RpcTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var channel = Server.Channel();
        using var parent = new Activity("bank-call").SetIdFormat(ActivityIdFormat.W3C).Start();
        while (Server.Log.TraceParents.TryDequeue(out _)) { }
        await new TestServiceClient(channel).UnaryCall(new SimpleRequest(), new CallOptions(Headers: new Metadata { { "x-probe", "trace" } }));
        Assert.True(Server.Log.TraceParents.TryDequeue(out var serverTrace));
        Assert.Equal(parent.TraceId.ToString(), serverTrace);
    }
}
