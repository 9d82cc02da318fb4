using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Verification.Rpc.Client;

/// <summary>A unary call: await it for the response. Idempotent methods are retried on UNAVAILABLE within the deadline.</summary>
public sealed class AsyncUnaryCall<TResponse> : IDisposable where TResponse : IMessage<TResponse>, new()
{
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IDisposable? _attempt;
    private Func<Status>? _status;
    private Func<Metadata>? _trailers;

    private AsyncUnaryCall() { }

    internal static AsyncUnaryCall<TResponse> Start<TRequest>(RpcChannel channel, Method<TRequest, TResponse> method, TRequest request, CallOptions options)
        where TRequest : IMessage<TRequest>
    {
        var call = new AsyncUnaryCall<TResponse>();
        call.ResponseAsync = call.RunAsync(method, request, channel, options);
        return call;
    }

    public Task<TResponse> ResponseAsync { get; private set; } = null!;

    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    public Status GetStatus() => _status?.Invoke() ?? throw new InvalidOperationException("The call has not completed yet.");

    public Metadata GetTrailers() => _trailers?.Invoke() ?? throw new InvalidOperationException("The call has not completed yet.");

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public void Dispose() => _attempt?.Dispose();

    private async Task<TResponse> RunAsync<TRequest>(Method<TRequest, TResponse> method, TRequest request, RpcChannel channel, CallOptions options)
        where TRequest : IMessage<TRequest>
    {
        var policy = channel.Options.Retry;
        var retryable = options.Idempotent ?? method.Idempotent;
        var deadline = options.Deadline ?? DateTimeOffset.UtcNow + channel.Options.DefaultDeadline;
        options = options with { Deadline = deadline };
        for (var attempt = 1; ; attempt++)
        {
            var call = new GrpcCall<TRequest, TResponse>(channel, method, options);
            _attempt?.Dispose();
            _attempt = call;
            _status = call.GetStatus;
            _trailers = call.GetTrailers;
            call.StartWithMessage(request);
            try
            {
                var response = await call.GetSingleResponseAsync().ConfigureAwait(false);
                _headers.TrySetResult(await call.ResponseHeadersAsync.ConfigureAwait(false));
                return response;
            }
            catch (RpcException ex) when (retryable && ex.StatusCode == StatusCode.Unavailable && attempt < policy.MaxAttempts)
            {
                var delay = RetryDelay(ex, policy, attempt + 1);
                if (DateTimeOffset.UtcNow + delay >= deadline) { Fail(call); throw; }
                await Task.Delay(delay, options.CancellationToken).ConfigureAwait(false);
            }
            catch (RpcException)
            {
                Fail(call);
                throw;
            }
        }
    }

    private void Fail<TRequest>(GrpcCall<TRequest, TResponse> call) where TRequest : IMessage<TRequest>
    {
        var headers = call.ResponseHeadersAsync;
        if (headers.IsCompletedSuccessfully) _headers.TrySetResult(headers.Result);
        else _headers.TrySetException(headers.Exception?.InnerException ?? new InvalidOperationException("No headers."));
        _ = _headers.Task.Exception;
    }

    /// <summary>The server's RetryInfo when it gave one, else the policy's backoff.</summary>
    private static TimeSpan RetryDelay(RpcException ex, RetryPolicy policy, int nextAttempt)
    {
        var retryInfo = ex.GetDetail<Google.Rpc.RetryInfo>();
        return retryInfo?.RetryDelay is { } delay ? delay.ToTimeSpan() : policy.BackoffBefore(nextAttempt);
    }
}

/// <summary>A server-streaming call: read <see cref="ResponseStream"/> to the end.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable where TResponse : IMessage<TResponse>, new()
{
    private readonly ICallState _call;

    internal AsyncServerStreamingCall(ICallState call, IAsyncStreamReader<TResponse> responses)
    {
        _call = call;
        ResponseStream = responses;
    }

    internal static AsyncServerStreamingCall<TResponse> From<TRequest>(GrpcCall<TRequest, TResponse> call) where TRequest : IMessage<TRequest> =>
        new(new CallState<TRequest, TResponse>(call), new ResponseReader<TRequest, TResponse>(call));

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    /// <summary>Cancels the call if it is still running (RST_STREAM).</summary>
    public void Dispose() => _call.Dispose();
}

/// <summary>A client-streaming call: write requests, complete, then await the response.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;
    private Task<TResponse>? _response;

    internal AsyncClientStreamingCall(GrpcCall<TRequest, TResponse> call)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest, TResponse>(call);
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public Task<TResponse> ResponseAsync => _response ??= _call.GetSingleResponseAsync();

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public void Dispose() => _call.Dispose();
}

/// <summary>A bidirectional call: write and read independently.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;

    internal AsyncDuplexStreamingCall(GrpcCall<TRequest, TResponse> call)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest, TResponse>(call);
        ResponseStream = new ResponseReader<TRequest, TResponse>(call);
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

internal interface ICallState : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }

    Status GetStatus();

    Metadata GetTrailers();
}

internal sealed class CallState<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : ICallState
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    public Task<Metadata> ResponseHeadersAsync => call.ResponseHeadersAsync;

    public Status GetStatus() => call.GetStatus();

    public Metadata GetTrailers() => call.GetTrailers();

    public void Dispose() => call.Dispose();
}

internal sealed class ResponseReader<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : IAsyncStreamReader<TResponse>
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    public TResponse Current => call.Current;

    public Task<bool> MoveNext(CancellationToken cancellationToken = default) => call.MoveNextAsync(cancellationToken);
}

internal sealed class RequestWriter<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : IClientStreamWriter<TRequest>
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) => call.WriteAsync(message, cancellationToken);

    public Task CompleteAsync() => call.CompleteRequestAsync();
}
