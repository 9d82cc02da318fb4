using Grpc.Core;
using Grpc.Core.Interceptors;
using Verification.Api;
using Verification.Platform.Hosting;

namespace Verification.Platform.Rpc;

/// <summary>
/// A client or bidirectional stream whose caller sends nothing for <see cref="ConnectionLimits.StreamIdleTimeout"/> while the
/// handler waits for a message is ended DEADLINE_EXCEEDED with a message saying so, whatever the handler made of the
/// interrupted read (a misleading UNAVAILABLE or INTERNAL otherwise), and nothing held for it stays held.
/// </summary>
public sealed class StreamIdleInterceptor(ConnectionLimits limits) : Interceptor
{
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var reader = new IdleLimitedReader<TRequest>(requestStream, limits.StreamIdleTimeout, context.CancellationToken);
        try
        {
            return await continuation(reader, context);
        }
        catch (Exception) when (reader.Expired)
        {
            throw reader.IdleError;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var reader = new IdleLimitedReader<TRequest>(requestStream, limits.StreamIdleTimeout, context.CancellationToken);
        try
        {
            await continuation(reader, responseStream, context);
        }
        catch (Exception) when (reader.Expired)
        {
            throw reader.IdleError;
        }
    }

    private sealed class IdleLimitedReader<T>(IAsyncStreamReader<T> inner, TimeSpan idle, CancellationToken call) : IAsyncStreamReader<T>
    {
        public bool Expired { get; private set; }

        public RpcException IdleError => RpcErrors.Of(StatusCode.DeadlineExceeded,
            $"The stream sent no message for {idle.TotalSeconds:0.#} s; it was ended. Send messages more often or half-close when done.");

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(idle);
            try
            {
                return await inner.MoveNext(wait.Token);
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !call.IsCancellationRequested)
            {
                Expired = true;
                throw IdleError;
            }
        }
    }
}
