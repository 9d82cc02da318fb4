using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Verification.Platform.Rpc;

/// <summary>
/// A step around every incoming call whatever its shape (authentication, authorization, error mapping): one method
/// instead of grpc's four handler overloads.
/// </summary>
public abstract class ServerCallInterceptor : Interceptor
{
    /// <summary>Runs around the rest of the pipeline (<paramref name="next"/>: later interceptors, then the service method).</summary>
    protected abstract Task InterceptAsync(ServerCallContext context, Func<Task> next);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        TResponse? response = null;
        await InterceptAsync(context, async () => response = await continuation(request, context));
        return response!;
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        TResponse? response = null;
        await InterceptAsync(context, async () => response = await continuation(requestStream, context));
        return response!;
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        InterceptAsync(context, () => continuation(request, responseStream, context));

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        InterceptAsync(context, () => continuation(requestStream, responseStream, context));
}
