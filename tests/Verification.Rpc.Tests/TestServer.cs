using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;
using Verification.Rpc.Server;

namespace Verification.Rpc.Tests;

/// <summary>What the probe service saw, for tests to assert on.</summary>
public sealed class ProbeLog
{
    public ConcurrentDictionary<string, int> Attempts { get; } = new();
    /// <summary>The deadline each EmptyCall saw, by its <c>x-nested-id</c> header: keyed, so a late call of another test cannot be taken for it.</summary>
    public ConcurrentDictionary<string, DateTimeOffset> NestedDeadlines { get; } = new();
    public ConcurrentQueue<string> TraceParents { get; } = new();
    public TaskCompletionSource<bool> HandlerCancelled { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public ConcurrentQueue<string> InterceptorCalls { get; } = new();

    public void ResetCancellation() => HandlerCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// TestService with knobs, chosen by the <c>x-probe</c> request header, for what interop cases do not cover:
/// retries, hidden exception text, rich errors, deadline inheritance, cancellation reaching the handler.
/// </summary>
public sealed class ProbeTestService(ProbeLog log, TestServiceHandler inner, RpcChannel self)
{
    public Task<Empty> EmptyCall(Empty request, ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue("x-nested-id") is { } id) log.NestedDeadlines[id] = context.Deadline;
        return Task.FromResult(new Empty());
    }

    public async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        var probe = context.RequestHeaders.GetValue("x-probe") ?? "";
        if (probe.StartsWith("unavailable-", StringComparison.Ordinal))
        {
            var parts = probe.Split('-');
            var attempt = log.Attempts.AddOrUpdate(parts[2], 1, (_, n) => n + 1);
            if (attempt <= int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture))
                throw RpcException.RetryLater(StatusCode.Unavailable, "Try again shortly.", TimeSpan.FromMilliseconds(20));
            return new SimpleResponse { Username = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }
        switch (probe)
        {
            case "throw":
                throw new InvalidOperationException("secret detail 3374010101010001 must not leak");
            case "bad-request":
                throw RpcException.InvalidArgument([("payload.body", "must not be empty"), ("response_size", "must be positive")]);
            case "nested":
                {
                    var id = Guid.NewGuid().ToString("N");
                    await new TestServiceClient(self).EmptyCall(new Empty(), new CallOptions(Headers: new Metadata { { "x-nested-id", id } }));
                    return new SimpleResponse { Username = context.Deadline.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), OauthScope = id };
                }
            case "trace":
                log.TraceParents.Enqueue(Activity.Current?.TraceId.ToString() ?? "");
                return new SimpleResponse();
            case "peer-cert":
                return new SimpleResponse { Username = context.PeerCertificate?.Thumbprint ?? "" };
            case "set-status":
                context.Status = new Status(StatusCode.FailedPrecondition, "set by handler");
                return new SimpleResponse();
            case "wait":
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    log.HandlerCancelled.TrySetResult(true);
                    throw;
                }
                return new SimpleResponse();
            case "cancel-inline":
                {
                    // Resumes inside the token's callback, before the server's own callback has run.
                    var cancelled = new TaskCompletionSource();
                    using (context.CancellationToken.Register(() => cancelled.TrySetResult()))
                        await cancelled.Task;
                    throw new OperationCanceledException(context.CancellationToken);
                }
            case "ignore-deadline":
                await Task.Delay(1500);
                return new SimpleResponse();
            default:
                return await inner.UnaryCall(request, context);
        }
    }

    public Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context) => inner.CacheableUnaryCall(request, context);

    public Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context) =>
        inner.StreamingOutputCall(request, responses, context);

    public Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requests, ServerCallContext context) =>
        inner.StreamingInputCall(requests, context);

    public async Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue("x-probe") == "two-then-unavailable")
        {
            // Answers the first request twice, then ends the call while the client is still sending.
            if (await requests.MoveNext(context.CancellationToken))
            {
                for (var size = 1; size <= 2; size++)
                    await responses.WriteAsync(new StreamingOutputCallResponse { Payload = new Payload { Body = Google.Protobuf.ByteString.CopyFrom(new byte[size]) } });
            }
            throw new RpcException(StatusCode.Unavailable, "Going away.");
        }

        try
        {
            await inner.FullDuplexCall(requests, responses, context);
        }
        catch (OperationCanceledException)
        {
            log.HandlerCancelled.TrySetResult(true);
            throw;
        }
    }

    public Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context) =>
        inner.HalfDuplexCall(requests, responses, context);
}

/// <summary>Records the order interceptors run in and can refuse a call before the handler.</summary>
public sealed class RecordingInterceptor(string name, ProbeLog log) : IServerInterceptor
{
    public async Task InterceptAsync(ServerCallContext context, RpcContinuation next)
    {
        if (context.RequestHeaders.GetValue("x-probe") == "interceptors") log.InterceptorCalls.Enqueue($"{name}:before:{context.Method.Name}");
        if (name == "outer" && context.RequestHeaders.GetValue("x-refuse") is not null)
            throw new RpcException(StatusCode.PermissionDenied, "Refused by interceptor.");
        await next(context);
        if (context.RequestHeaders.GetValue("x-probe") == "interceptors") log.InterceptorCalls.Enqueue($"{name}:after");
    }
}

/// <summary>A real Kestrel h2c (or TLS) server on a free loopback port with TestService (probe), health and reflection.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, ProbeLog log, string address)
    {
        _app = app;
        Log = log;
        Address = address;
    }

    public ProbeLog Log { get; }

    public string Address { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync(Action<RpcServerOptions>? options = null, X509Certificate2? certificate = null, bool requireClientCertificate = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is null) return;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                if (!requireClientCertificate) return;
                https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                // Tests pin the member certificate in the handler; chain building is the platform's job.
                https.ClientCertificateValidation = (_, _, _) => true;
            });
        }));
        var log = new ProbeLog();
        builder.Services.AddRpcServer(options);
        builder.Services.AddSingleton(log);
        builder.Services.AddSingleton<IServerInterceptor>(sp => new RecordingInterceptor("outer", log));
        builder.Services.AddSingleton<IServerInterceptor>(sp => new RecordingInterceptor("inner", log));
        builder.Services.AddSingleton<TestServiceHandler>();
        string? address = null;
        builder.Services.AddSingleton(_ => new RpcChannel(address!, new RpcChannelOptions { ServerCertificateValidation = (_, _, _, _) => certificate is not null }));
        var app = builder.Build();
        app.UseRpcServer();
        app.MapRpcService<ProbeTestService>(TestReflection.Descriptor.Services.Single(s => s.Name == "TestService"), "UnimplementedCall");
        app.MapRpcHealth();
        app.MapRpcReflection();
        await app.StartAsync();
        address = $"{(certificate is null ? "http" : "https")}://127.0.0.1:{new Uri(app.Urls.First()).Port}";
        return new TestServer(app, log, address);
    }

    public int Port => new Uri(Address).Port;

    public RpcChannel Channel(RpcChannelOptions? options = null) => new(Address, options);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One plain HTTP/2 client for hand-made (and malformed) gRPC requests.</summary>
public static class RawHttp2
{
    private static readonly HttpClient Client = NewClient();

    public sealed record Reply(HttpStatusCode HttpStatus, string? GrpcStatus, string? GrpcMessage, byte[] Body, Dictionary<string, string> Headers, Dictionary<string, string> Trailers);

    /// <summary>A client of its own, on its own connections, for tests that must not share the static one.</summary>
    public static HttpClient NewClient() => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    public static async Task<Reply> PostAsync(string address, string path, byte[] body, string? contentType = "application/grpc", IEnumerable<(string, string)>? headers = null, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, address + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("content-type", contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await (client ?? Client).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var head = response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value));
        var tail = response.TrailingHeaders.ToDictionary(h => h.Key, h => string.Join(",", h.Value));
        var status = head.GetValueOrDefault("grpc-status") ?? tail.GetValueOrDefault("grpc-status");
        var message = head.GetValueOrDefault("grpc-message") ?? tail.GetValueOrDefault("grpc-message");
        return new Reply(response.StatusCode, status, message, bytes, head, tail);
    }

    public static byte[] Frame(IMessage message, byte flag = 0)
    {
        var payload = message.ToByteArray();
        return Frame(payload, flag);
    }

    public static byte[] Frame(byte[] payload, byte flag = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }
}
