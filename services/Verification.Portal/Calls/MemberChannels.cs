using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Platform.Access;
using Verification.Platform.Hosting;

namespace Verification.Portal.Calls;

/// <summary>
/// One gRPC channel per module the portal calls, made without the internal-service member's credentials: the portal's calls
/// are authenticated by the signed-in member's own token, or by the portal member with the member's signed delegation, added
/// per call (see <see cref="MemberCalls"/>), so access control, scope checks, rate limits and audited denials are those of
/// the member calling directly.
/// </summary>
public sealed class MemberChannels : IDisposable
{
    private readonly ModuleEndpoints _endpoints;
    private readonly VerificationHostContext _host;
    private readonly X509Certificate2? _certificate;
    private readonly IServiceProvider _resolvers;
    private readonly Dictionary<string, Lazy<GrpcChannel>> _channels;

    public MemberChannels(ModuleEndpoints endpoints, VerificationHostContext host, PortalSettings settings, MemberDirectory members, IServiceProvider resolvers)
    {
        _endpoints = endpoints;
        _host = host;
        _resolvers = resolvers;
        if (settings.ClientCertificatePath is { } path)
        {
            _certificate = X509Certificate2.CreateFromPemFile(path, settings.ClientCertificateKeyPath);
            // A member's certificate would make every call that member's, whoever signed in: refuse to start. Only a delegating
            // portal may present its own portal member's certificate, which can call nothing without a member's assertion.
            if (members.FindByCertificate(_certificate) is { } owner && !(settings.Delegates && owner.Role == MemberRole.Portal))
                throw new ConfigurationError($"{PortalSettings.SectionName}:ClientCertificatePath", "a certificate that belongs to no member", "the certificate of member " + owner.Code);
        }

        _channels = PortalModule.Calls.ToDictionary(m => m, m => new Lazy<GrpcChannel>(() => Create(m)), StringComparer.Ordinal);
    }

    public CallInvoker Invoker(string module) => _channels[module].Value.CreateCallInvoker();

    private GrpcChannel Create(string module)
    {
        var options = new GrpcChannelOptions
        {
            HttpHandler = Handler(),
            ServiceConfig = ApiRetries.ServiceConfig(ApiDescriptors.Services),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        };
        if (_endpoints.Of(module) is { Balanced: true } balanced)
        {
            // Every replica gets calls and one that stops answering leaves the rotation, as in ModuleClients.
            options.ServiceConfig.LoadBalancingConfigs.Add(new RoundRobinConfig());
            options.Credentials = balanced.Secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
            options.ServiceProvider = _resolvers;
            options.InitialReconnectBackoff = TimeSpan.FromMilliseconds(100);
            options.MaxReconnectBackoff = TimeSpan.FromSeconds(2);
        }

        return GrpcChannel.ForAddress(_endpoints.AddressOf(module), options);
    }

    private SocketsHttpHandler Handler()
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        handler.SslOptions.EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        // Never the internal-service certificate: the access interceptor would take it for the caller.
        if (_certificate is not null) handler.SslOptions.ClientCertificates = [_certificate];
        if (_host.Options.Internal.ServerCaPath is { } caPath)
            handler.SslOptions.RemoteCertificateValidationCallback = CertificateAuthority.ServerValidation(X509CertificateLoader.LoadCertificateFromFile(caPath));
        return handler;
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values.Where(c => c.IsValueCreated)) channel.Value.Dispose();
        _certificate?.Dispose();
    }
}
