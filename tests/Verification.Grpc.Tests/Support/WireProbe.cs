using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Testing;
using Verification.Api;
using Verification.Platform.Access;
using Verification.Platform.Hosting;
using Verification.Rpc.InteropServer;

namespace Verification.Grpc.Tests.Support;

/// <summary>When a call reached a handler and what deadline it saw there.</summary>
public sealed record HandlerCall(DateTime ReceivedAt, DateTime Deadline);

/// <summary>What the probe handlers saw, keyed by the caller's <c>x-probe-id</c> so concurrent or late calls of other tests never mix in.</summary>
public sealed class ProbeLog
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _started = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _cancelled = new();

    public ConcurrentDictionary<string, HandlerCall> Calls { get; } = new();

    /// <summary>Completes once the handler of call <paramref name="id"/> is running.</summary>
    public TaskCompletionSource Started(string id) => _started.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Completes once the handler of call <paramref name="id"/> saw its token cancelled.</summary>
    public TaskCompletionSource Cancelled(string id) => _cancelled.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    public static string NewId() => Guid.NewGuid().ToString("N");
}

/// <summary>
/// grpc.testing.TestService as a module of the real host: the interop behaviour by default, and knobs chosen by the
/// <c>x-probe</c> header for what the host promises beyond interop (hidden exception text, rich errors, cancellation,
/// deadline propagation to a module-to-module call).
/// </summary>
[RpcRoles(MemberRole.Bank, MemberRole.InternalService)]
public sealed class WireProbeService(ProbeLog log, ModuleClient<TestService.TestServiceClient> self) : TestService.TestServiceBase
{
    /// <summary>NIK-shaped: the digits must never reach a caller.</summary>
    public const string SecretNik = "3374014501900001";

    /// <summary>Bounds on what a request may ask for, so a random request of the malformed flood cannot make the host allocate gigabytes or sleep.</summary>
    public const int MaxResponseSize = 1 << 20;

    private readonly TestServiceHandler _interop = new();

    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context)
    {
        if (ProbeId(context) is { } id) log.Calls[id] = new HandlerCall(DateTime.UtcNow, context.Deadline);
        return Task.FromResult(new Empty());
    }

    public override async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        var id = ProbeId(context) ?? "";
        switch (context.RequestHeaders.GetValue("x-probe"))
        {
            case "whoami":
                return new SimpleResponse { Username = context.Member().Code, OauthScope = context.GetHttpContext().Connection.ClientCertificate?.Thumbprint ?? "" };
            case "throw":
                throw new InvalidOperationException($"participant {SecretNik} has no coverage row");
            case "bad-request":
                throw RpcErrors.InvalidArgument([("payload.body", "must not be empty"), ("response_size", "must be positive")]);
            case "wait":
                log.Started(id).TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    log.Cancelled(id).TrySetResult();
                    throw;
                }
                return new SimpleResponse();
            case "nested":
                {
                    // The upstream's view first, then a module-to-module call that sets no deadline of its own.
                    log.Calls["upstream-" + id] = new HandlerCall(DateTime.UtcNow, context.Deadline);
                    await self.Client.EmptyCallAsync(new Empty(), new Metadata { { "x-probe-id", id } });
                    return new SimpleResponse();
                }
            case "nested-wait":
                await self.Client.UnaryCallAsync(new SimpleRequest(), new Metadata { { "x-probe", "wait" }, { "x-probe-id", id } });
                return new SimpleResponse();
            default:
                Bound(request.ResponseSize, 0);
                return await _interop.UnaryCall(request, context);
        }
    }

    public override Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context)
    {
        Bound(request.ResponseSize, 0);
        return _interop.CacheableUnaryCall(request, context);
    }

    public override async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue("x-probe") == "throw")
        {
            // After a message has gone out, so the status travels in trailers behind a started response.
            await responseStream.WriteAsync(new StreamingOutputCallResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[1]) } });
            throw new InvalidOperationException($"participant {SecretNik} has no coverage row");
        }
        foreach (var parameters in request.ResponseParameters) Bound(parameters.Size, parameters.IntervalUs);
        await _interop.StreamingOutputCall(request, responseStream, context);
    }

    public override Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context) =>
        _interop.StreamingInputCall(requestStream, context);

    public override Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) =>
        _interop.FullDuplexCall(new BoundedRequests(requestStream), responseStream, context);

    public override Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) =>
        _interop.HalfDuplexCall(new BoundedRequests(requestStream), responseStream, context);

    public override Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "UnimplementedCall is unimplemented by design (interop case unimplemented_method)."));

    private static string? ProbeId(ServerCallContext context) => context.RequestHeaders.GetValue("x-probe-id");

    private static void Bound(int size, int intervalUs)
    {
        if (size > MaxResponseSize || intervalUs > 100_000)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The probe answers at most 1 MiB per message and waits at most 100 ms."));
    }

    private sealed class BoundedRequests(IAsyncStreamReader<StreamingOutputCallRequest> inner) : IAsyncStreamReader<StreamingOutputCallRequest>
    {
        public StreamingOutputCallRequest Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken)) return false;
            foreach (var parameters in inner.Current.ResponseParameters) Bound(parameters.Size, parameters.IntervalUs);
            return true;
        }
    }
}
