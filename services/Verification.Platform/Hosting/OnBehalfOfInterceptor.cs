using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Verification.Platform.Access;
using Verification.Platform.Rpc;

namespace Verification.Platform.Hosting;

/// <summary>
/// On a module-to-module call made while serving a partner, names the partner (and this module) in the call's metadata,
/// so the events the called module records say who acted and who relayed it. Background calls name nobody.
/// </summary>
public sealed class OnBehalfOfInterceptor(IHttpContextAccessor http) : Interceptor
{
    private ClientInterceptorContext<TRequest, TResponse> Named<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class where TResponse : class
    {
        if (http.HttpContext?.Features.Get<IServerCallContextFeature>()?.ServerCallContext is not { } serving || serving.MemberOrNull() is null) return context;
        var headers = new Metadata();
        if (context.Options.Headers is { } existing) foreach (var entry in existing) headers.Add(entry);
        headers.Add(CallerContext.OnBehalfOfHeader, serving.ActingMemberCode());
        headers.Add(CallerContext.RelayedByHeader, ModuleOf(RpcMethod.Of(serving).ServiceName));
        return new(context.Method, context.Host, context.Options.WithHeaders(headers));
    }

    /// <summary>"verification.kur.v1.KurService" is the kur module.</summary>
    public static string ModuleOf(string serviceName) => serviceName.Split('.') is [_, var area, ..] ? area : serviceName;

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Named(context));

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Named(context));

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(request, Named(context));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(Named(context));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation) =>
        continuation(Named(context));
}
