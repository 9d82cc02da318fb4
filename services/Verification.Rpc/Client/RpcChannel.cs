using System.Net;
using System.Security.Authentication;
using Google.Protobuf;

namespace Verification.Rpc.Client;

/// <summary>
/// A connection pool to one server over HTTP/2: h2c with prior knowledge for <c>http://</c>, TLS with ALPN h2
/// (optionally a client certificate) for <c>https://</c>. Thread-safe; make one per target and share it.
/// </summary>
public sealed class RpcChannel : IDisposable
{
    private readonly bool _ownsHandler;

    public RpcChannel(string address, RpcChannelOptions? options = null)
        : this(new Uri(address, UriKind.Absolute), options) { }

    public RpcChannel(Uri address, RpcChannelOptions? options = null)
    {
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Address '{address}' must start with http:// (h2c) or https:// (TLS).", nameof(address));
        Address = address;
        Options = options ?? new RpcChannelOptions();
        HttpMessageHandler handler;
        if (Options.HttpHandler is { } custom)
        {
            handler = custom;
        }
        else
        {
            var sockets = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(10),
            };
            sockets.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            if (Options.ClientCertificate is { } certificate) sockets.SslOptions.ClientCertificates = [certificate];
            if (Options.ServerCertificateValidation is { } validation) sockets.SslOptions.RemoteCertificateValidationCallback = validation;
            handler = sockets;
            _ownsHandler = true;
        }
        Invoker = new HttpMessageInvoker(handler, disposeHandler: _ownsHandler);
    }

    public Uri Address { get; }

    public RpcChannelOptions Options { get; }

    internal HttpMessageInvoker Invoker { get; }

    public AsyncUnaryCall<TResponse> UnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
        => AsyncUnaryCall<TResponse>.Start(this, method, request, options);

    public AsyncServerStreamingCall<TResponse> ServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        call.StartWithMessage(request);
        return AsyncServerStreamingCall<TResponse>.From(call);
    }

    public AsyncClientStreamingCall<TRequest, TResponse> ClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        call.StartStreaming();
        return new AsyncClientStreamingCall<TRequest, TResponse>(call);
    }

    public AsyncDuplexStreamingCall<TRequest, TResponse> DuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        call.StartStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call);
    }

    public void Dispose() => Invoker.Dispose();
}
