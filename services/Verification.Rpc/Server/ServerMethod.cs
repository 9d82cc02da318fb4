using System.Diagnostics;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Verification.Rpc.Server;

/// <summary>A method bound to its handler: the per-call work, composed once at start-up.</summary>
internal abstract class ServerMethod(RpcMethodInfo info, RpcServerOptions options, ILogger logger)
{
    // Kestrel's default request body limit (30,000,000 bytes) already covers a unary message up to this size.
    private const int UnaryBodyLimit = 28 * 1024 * 1024;

    private RpcContinuation _pipeline = null!;

    public RpcMethodInfo Info { get; } = info;

    public void ComposePipeline(IReadOnlyList<IServerInterceptor> interceptors)
    {
        RpcContinuation pipeline = InvokeAsync;
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = ctx => interceptor.InterceptAsync(ctx, next);
        }
        _pipeline = pipeline;
    }

    public async Task HandleAsync(HttpContext http)
    {
        var start = RpcTelemetry.ServerDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (Info.Type != MethodType.Unary || options.MaxReceiveMessageSize > UnaryBodyLimit)
        {
            // Streams may be long and slow by design; Kestrel's body size and rate limits are for HTTP/1 uploads.
            var maxSize = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (maxSize is { IsReadOnly: false }) maxSize.MaxRequestBodySize = null;
            var minRate = http.Features.Get<IHttpMinRequestBodyDataRateFeature>();
            if (minRate is not null && Info.Type != MethodType.Unary) minRate.MinDataRate = null;
        }

        var context = new ServerCallContext(http, Info, options);
        var activity = RpcTelemetry.ActivitySource.HasListeners() ? RpcTelemetry.Start(Info.ServiceName, Info.Name, ActivityKind.Server, ParentFrom(http)) : null;
        var status = Status.DefaultSuccess;
        try
        {
            var invalid = context.Initialize();
            if (invalid is { } bad)
            {
                status = bad;
            }
            else
            {
                // Flows to everything the handler awaits; the async method restores the caller's context on return.
                ServerCallContext.SetCurrent(context);
                try
                {
                    await _pipeline(context).ConfigureAwait(false);
                    status = context.Status;
                }
                catch (Exception ex)
                {
                    status = MapException(context, http, ex);
                }
            }
            await context.CompleteAsync(status).ConfigureAwait(false);
        }
        finally
        {
            await context.DisposeAsync().ConfigureAwait(false);
            if (context.DeadlineExceeded && status.StatusCode != StatusCode.DeadlineExceeded) status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            RpcTelemetry.Stop(activity, status.StatusCode);
            RpcTelemetry.Record(RpcTelemetry.ServerDuration, Info.ServiceName, Info.Name, status.StatusCode, start);
        }
    }

    protected abstract Task InvokeAsync(ServerCallContext context);

    protected RpcServerOptions Options => options;

    private Status MapException(ServerCallContext context, HttpContext http, Exception ex)
    {
        if (ex is RpcException rpc)
        {
            foreach (var entry in rpc.Trailers) context.ResponseTrailers.Add(entry);
            return rpc.Status;
        }
        if (context.DeadlineExceeded) return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        if (http.RequestAborted.IsCancellationRequested) return Status.DefaultCancelled;
        if (ex is OperationCanceledException) return Status.DefaultCancelled;
        // Exception text can hold anything, personal data included: it goes to the log, never to the caller.
        logger.LogError(ex, "Unhandled exception in {Method} (trace {TraceId})", Info.FullName, context.TraceId);
        return new Status(StatusCode.Internal, "Exception was thrown by handler.");
    }

    private static ActivityContext ParentFrom(HttpContext http)
    {
        if (Activity.Current is not null) return default;
        var traceParent = http.Request.Headers.TraceParent;
        if (traceParent.Count != 1) return default;
        var traceState = http.Request.Headers.TraceState;
        return ActivityContext.TryParse(traceParent.ToString(), traceState.Count == 1 ? traceState.ToString() : null, isRemote: true, out var parent) ? parent : default;
    }
}

internal sealed class UnaryServerMethod<THandler, TRequest, TResponse>(
    RpcMethodInfo info, RpcServerOptions options, ILogger logger, MessageParser<TRequest> parser,
    Func<THandler, TRequest, ServerCallContext, Task<TResponse>> invoker, Func<HttpContext, THandler> create)
    : ServerMethod(info, options, logger)
    where THandler : class where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
{
    protected override async Task InvokeAsync(ServerCallContext context)
    {
        var request = await context.ReadSingleMessageAsync(parser).ConfigureAwait(false);
        var handler = create(context.GetHttpContext());
        var response = await invoker(handler, request, context).ConfigureAwait(false);
        if (context.Status.StatusCode != StatusCode.OK) return;
        if (response is null) throw new InvalidOperationException($"Handler for {Info.FullName} returned no response.");
        await context.WriteMessageAsync(response, null, flush: false).ConfigureAwait(false);
    }
}

internal sealed class ServerStreamingServerMethod<THandler, TRequest, TResponse>(
    RpcMethodInfo info, RpcServerOptions options, ILogger logger, MessageParser<TRequest> parser,
    Func<THandler, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> invoker, Func<HttpContext, THandler> create)
    : ServerMethod(info, options, logger)
    where THandler : class where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
{
    protected override async Task InvokeAsync(ServerCallContext context)
    {
        var request = await context.ReadSingleMessageAsync(parser).ConfigureAwait(false);
        var handler = create(context.GetHttpContext());
        await invoker(handler, request, new ResponseStreamWriter<TResponse>(context), context).ConfigureAwait(false);
    }
}

internal sealed class ClientStreamingServerMethod<THandler, TRequest, TResponse>(
    RpcMethodInfo info, RpcServerOptions options, ILogger logger, MessageParser<TRequest> parser,
    Func<THandler, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> invoker, Func<HttpContext, THandler> create)
    : ServerMethod(info, options, logger)
    where THandler : class where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
{
    protected override async Task InvokeAsync(ServerCallContext context)
    {
        var handler = create(context.GetHttpContext());
        var response = await invoker(handler, new RequestStreamReader<TRequest>(context, parser), context).ConfigureAwait(false);
        if (context.Status.StatusCode != StatusCode.OK) return;
        if (response is null) throw new InvalidOperationException($"Handler for {Info.FullName} returned no response.");
        await context.WriteMessageAsync(response, null, flush: false).ConfigureAwait(false);
    }
}

internal sealed class DuplexStreamingServerMethod<THandler, TRequest, TResponse>(
    RpcMethodInfo info, RpcServerOptions options, ILogger logger, MessageParser<TRequest> parser,
    Func<THandler, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> invoker, Func<HttpContext, THandler> create)
    : ServerMethod(info, options, logger)
    where THandler : class where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
{
    protected override async Task InvokeAsync(ServerCallContext context)
    {
        var handler = create(context.GetHttpContext());
        await invoker(handler, new RequestStreamReader<TRequest>(context, parser), new ResponseStreamWriter<TResponse>(context), context).ConfigureAwait(false);
    }
}

/// <summary>A proto method the service deliberately leaves unimplemented: answers UNIMPLEMENTED.</summary>
internal sealed class UnimplementedServerMethod(RpcMethodInfo info, RpcServerOptions options, ILogger logger) : ServerMethod(info, options, logger)
{
    protected override Task InvokeAsync(ServerCallContext context) =>
        throw new RpcException(StatusCode.Unimplemented, $"Method {Info.FullName} is unimplemented.");
}
