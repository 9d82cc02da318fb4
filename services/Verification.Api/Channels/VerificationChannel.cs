using System.Net;
using System.Security.Authentication;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Verification.Api.Channels;

/// <summary>
/// A channel to a Verification host for partners' tools, the CLI and tests: grpc-dotnet's <see cref="GrpcChannel"/> over
/// HTTP/2 (h2c for <c>http://</c>, TLS with an optional client certificate for <c>https://</c>), the member's token as call
/// credentials, a default deadline on every call, and retries of idempotent calls on UNAVAILABLE. Make one per server and share it.
/// </summary>
public sealed class VerificationChannel : ChannelBase, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;

    public VerificationChannel(string address, ChannelSettings? settings = null) : this(new Uri(address, UriKind.Absolute), settings) { }

    public VerificationChannel(Uri address, ChannelSettings? settings = null) : base(address.Authority)
    {
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"Address '{address}' must start with http:// (h2c) or https:// (TLS).", nameof(address));
        Address = address;
        Settings = settings ?? new ChannelSettings();
        var handler = new SocketsHttpHandler
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
        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (Settings.ClientCertificate is { } certificate) handler.SslOptions.ClientCertificates = [certificate];
        if (Settings.ServerCertificateValidation is { } validation) handler.SslOptions.RemoteCertificateValidationCallback = validation;

        var secure = address.Scheme == Uri.UriSchemeHttps;
        ChannelCredentials credentials = secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        if (Settings.BearerToken is { } token)
        {
            var header = "Bearer " + token;
            credentials = ChannelCredentials.Create(credentials, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", header);
                return Task.CompletedTask;
            }));
        }
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            Credentials = credentials,
            // Loopback h2c in monolithic mode carries bearer tokens too; TLS is for anything that leaves the machine.
            UnsafeUseInsecureChannelCallCredentials = !secure,
            ServiceConfig = Settings.RetryUnavailable ? ApiRetries.ServiceConfig(ApiDescriptors.Services) : null,
            MaxReceiveMessageSize = Settings.MaxReceiveMessageSize ?? 4 * 1024 * 1024,
        });
        _invoker = _channel.Intercept(new DefaultDeadlineInterceptor(Settings.DefaultDeadline));
    }

    public Uri Address { get; }

    public ChannelSettings Settings { get; }

    /// <summary>The underlying grpc-dotnet channel, for what this wrapper does not cover (connection state, shutdown).</summary>
    public GrpcChannel Channel => _channel;

    public override CallInvoker CreateCallInvoker() => _invoker;

    protected override Task ShutdownAsyncCore() => _channel.ShutdownAsync();

    public void Dispose() => _channel.Dispose();
}
