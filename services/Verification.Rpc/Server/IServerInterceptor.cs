namespace Verification.Rpc.Server;

/// <summary>The rest of the pipeline: the next interceptor, or reading the request, the handler and writing the response.</summary>
public delegate Task RpcContinuation(ServerCallContext context);

/// <summary>
/// A step around every call (authentication, authorization, logging, metrics). Registered as a singleton in
/// DI; the chain is composed once per method at start-up, in registration order (first registered runs outermost).
/// </summary>
public interface IServerInterceptor
{
    Task InterceptAsync(ServerCallContext context, RpcContinuation next);
}
