using System.Text;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Testing;
using Verification.Api;
using Verification.Grpc.Tests.Support;
using Verification.Platform.Rpc;

namespace Verification.Grpc.Tests;

/// <summary>What the host composition promises on the wire, each through real HTTP/2 to the real interceptors and a probe module.</summary>
public class HostWirePromiseTests(WireHostFixture fixture) : IClassFixture<WireHostFixture>
{
    private const string Bank = "bank-bri";
    private WireHost Host => fixture.Host;

    private static readonly Method<Empty, Empty> NoSuchMethod = new(MethodType.Unary, "grpc.testing.TestService", "NoSuchMethod", Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom));

    private static Metadata Probe(string probe, string id) => new() { { "x-probe", probe }, { "x-probe-id", id } };

    [Theory]
    [InlineData(Bank)]
    [InlineData(null)]
    public async Task AnUnknownServiceAndAnUnknownMethodAreUnimplementedForMembersAndStrangersAlike(string? member)
    {
        using var channel = Host.Channel(member);
        var unknownService = await Assert.ThrowsAsync<RpcException>(async () => await new UnimplementedService.UnimplementedServiceClient(channel).UnimplementedCallAsync(new Empty()));
        Assert.Equal(StatusCode.Unimplemented, unknownService.StatusCode);
        var unknownMethod = await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(NoSuchMethod, null, default, new Empty()));
        Assert.Equal(StatusCode.Unimplemented, unknownMethod.StatusCode);
    }

    [Fact]
    public async Task ARequestOverTheReceiveLimitIsResourceExhaustedAndOneUnderItIsAnswered()
    {
        using var channel = Host.Channel(Bank);
        var client = new TestService.TestServiceClient(channel);
        var under = await client.UnaryCallAsync(new SimpleRequest { ResponseSize = 1, Payload = new Payload { Body = ByteString.CopyFrom(new byte[(4 << 20) - 64]) } });
        Assert.Equal(1, under.Payload.Body.Length);

        var over = new SimpleRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[4 << 20]) } };
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryCallAsync(over));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task AnExpiredDeadlineIsAnsweredDeadlineExceededByTheServerAndCancelsTheHandlersToken()
    {
        var id = ProbeLog.NewId();
        using var client = RawHttp2.NewClient();
        // Raw HTTP/2, so it is the server's deadline that ends the call (Grpc.Net.Client would also give up on its own); two seconds
        // leave the handler time to start even on a starved machine.
        var reply = await RawHttp2.PostAsync(client, Host.Address, "/grpc.testing.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()),
            headers: [("authorization", "Bearer " + Host.Token(Bank)), ("grpc-timeout", "2S"), ("x-probe", "wait"), ("x-probe-id", id)]);
        Assert.True(reply.GrpcStatus == "4", $"expected DEADLINE_EXCEEDED (4), got {reply.GrpcStatus} {reply.GrpcMessage}");
        Assert.True(Host.Log.Started(id).Task.IsCompleted, "the call never reached the handler");
        await Host.Log.Cancelled(id).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AClientCancellationReachesTheHandlerAsCancellation()
    {
        var id = ProbeLog.NewId();
        using var channel = Host.Channel(Bank);
        using var cancellation = new CancellationTokenSource();
        using var call = new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(), new CallOptions(Probe("wait", id), cancellationToken: cancellation.Token));
        await Host.Log.Started(id).Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cancellation.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await Host.Log.Cancelled(id).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AnUnhandledExceptionInAUnaryHandlerIsInternalWithAFixedMessageAndNoneOfItsText()
    {
        using var channel = Host.Channel(Bank);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(), Probe("throw", ProbeLog.NewId())));
        AssertInternalWithoutTheNik(ex);

        // On the wire too: no header, trailer or byte of the body may carry the digits.
        using var client = RawHttp2.NewClient();
        var reply = await RawHttp2.PostAsync(client, Host.Address, "/grpc.testing.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()),
            headers: [("authorization", "Bearer " + Host.Token(Bank)), ("x-probe", "throw")]);
        Assert.Equal("13", reply.GrpcStatus);
        var everything = string.Join("\n", reply.Headers.Concat(reply.Trailers).Select(h => $"{h.Key}: {h.Value}")) + Encoding.Latin1.GetString(reply.Body);
        Assert.DoesNotContain(WireProbeService.SecretNik, everything);
    }

    [Fact]
    public async Task AnUnhandledExceptionAfterAStreamedMessageIsInternalWithAFixedMessageAndNoneOfItsText()
    {
        using var channel = Host.Channel(Bank);
        using var call = new TestService.TestServiceClient(channel).StreamingOutputCall(new StreamingOutputCallRequest(), Probe("throw", ProbeLog.NewId()));
        Assert.True(await call.ResponseStream.MoveNext());
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        AssertInternalWithoutTheNik(ex);
    }

    [Fact]
    public async Task InvalidArgumentCarriesBadRequestFieldViolationsTheClientCanRead()
    {
        using var channel = Host.Channel(Bank);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(), Probe("bad-request", ProbeLog.NewId())));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var status = ex.GetRpcStatus();
        Assert.NotNull(status);
        Assert.Equal((int)StatusCode.InvalidArgument, status!.Code);
        var badRequest = ex.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(["payload.body", "response_size"], badRequest!.FieldViolations.Select(v => v.Field));
        Assert.Equal("must not be empty", badRequest.FieldViolations[0].Description);
    }

    private static void AssertInternalWithoutTheNik(RpcException ex)
    {
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal(UnhandledErrorInterceptor.Message, ex.Status.Detail);
        Assert.DoesNotContain(WireProbeService.SecretNik, ex.Message);
        foreach (var trailer in ex.Trailers)
        {
            var value = trailer.IsBinary ? Encoding.Latin1.GetString(trailer.ValueBytes) : trailer.Value;
            Assert.DoesNotContain(WireProbeService.SecretNik, value);
        }
    }
}
