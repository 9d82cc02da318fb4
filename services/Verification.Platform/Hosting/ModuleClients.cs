using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.Api.Channels;

namespace Verification.Platform.Hosting;

/// <summary>
/// The generated gRPC clients a module uses to call another module, from the client factory, as the internal-service
/// member: in monolithic mode through this same server, so there is one code path in both modes. Calls made while
/// serving a partner inherit what is left of the partner's deadline and its cancellation (call-context propagation).
/// </summary>
public static class ModuleClients
{
    /// <summary>Registers <typeparamref name="TClient"/> for calls to <paramref name="module"/> (as named in <c>Verification:Endpoints</c>).</summary>
    public static IServiceCollection AddModuleClient<TClient>(this IServiceCollection services, string module) where TClient : ClientBase
    {
        // Several modules in one process may need the same client: configure it once (the factory's settings add up).
        if (services.Any(d => d.ServiceType == typeof(ModuleClient<TClient>))) return services;
        services.AddModuleResolvers();
        services.AddSingleton<ModuleClient<TClient>>();
        services
            .AddGrpcClient<TClient>((sp, o) => o.Address = sp.GetRequiredService<ModuleEndpoints>().AddressOf(module))
            .ConfigureChannel((sp, o) =>
            {
                o.ServiceConfig = ApiRetries.ServiceConfig(ApiDescriptors.Services);
                if (sp.GetRequiredService<ModuleEndpoints>().Of(module) is { Balanced: true } balanced)
                {
                    // Every replica gets calls (one long-lived HTTP/2 connection would pin them all to one), and a replica
                    // that stops answering is left out of the rotation until it connects again.
                    o.ServiceConfig.LoadBalancingConfigs.Add(new RoundRobinConfig());
                    o.Credentials = balanced.Secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
                    o.ServiceProvider = sp;
                }

                // A neighbour that restarts is found again within a second or two, not after grpc's default of up to 120 s.
                o.InitialReconnectBackoff = TimeSpan.FromMilliseconds(100);
                o.MaxReconnectBackoff = TimeSpan.FromSeconds(2);
                // The internal token crosses loopback h2c in monolithic mode; between hosts, mutual TLS carries identity instead.
                o.UnsafeUseInsecureChannelCallCredentials = true;
            })
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<ModuleEndpoints>().CreateHandler())
            // First the default, then propagation, which keeps whichever deadline is sooner.
            .AddInterceptor(sp => new DefaultDeadlineInterceptor(sp.GetRequiredService<VerificationHostContext>().Options.Internal.DefaultDeadline))
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true)
            .AddInterceptor(sp => new OnBehalfOfInterceptor(sp.GetRequiredService<Microsoft.AspNetCore.Http.IHttpContextAccessor>()))
            .AddCallCredentials((_, metadata, sp) =>
            {
                if (sp.GetRequiredService<ModuleEndpoints>().BearerToken is { } token) metadata.Add("authorization", "Bearer " + token);
                return Task.CompletedTask;
            });
        return services;
    }
}

/// <summary>The resolvers of balanced module addresses, for channels made with the service provider as theirs.</summary>
public static class ModuleResolvers
{
    /// <summary>Registers, once, the resolvers behind <c>dns:///host:port</c> and a fixed list of replicas (<see cref="ModuleAddress"/>).</summary>
    public static IServiceCollection AddModuleResolvers(this IServiceCollection services)
    {
        services.TryAddSingleton<ModuleEndpoints>();
        if (!services.Any(d => d.ServiceType == typeof(ResolverFactory)))
        {
            // Replicas behind a name are looked up again this often, so new ones get calls without a restart.
            services.AddSingleton<ResolverFactory>(new DnsResolverFactory(refreshInterval: TimeSpan.FromSeconds(15)));
            services.AddSingleton<ResolverFactory>(sp => new StaticResolverFactory(address => sp.GetRequiredService<ModuleEndpoints>().ReplicasOf(address)));
        }

        return services;
    }
}

/// <summary>
/// One client per module and process, made from the factory on first use (in monolithic mode this server's address is known
/// only once it listens). The client is thread-safe; propagation reads the serving call at each call, not at creation.
/// </summary>
public sealed class ModuleClient<TClient>(GrpcClientFactory factory) where TClient : ClientBase
{
    private readonly Lock _gate = new();
    private TClient? _client;

    // Exactly one channel per handler: two channels made at once from the factory's pooled handler share it, and the
    // second (seeing the first's connect callback) falls back to a passive transport whose connects all fail
    // ("Specified method is not supported"). A failed creation is not kept: the next call tries again.
    public TClient Client
    {
        get
        {
            if (Volatile.Read(ref _client) is { } client) return client;
            lock (_gate)
            {
                return _client ??= factory.CreateClient<TClient>(typeof(TClient).Name);
            }
        }
    }
}

/// <summary>Where the other modules answer, and the internal-service member's credentials for calling them.</summary>
public sealed class ModuleEndpoints(VerificationHostContext host, IServer server) : IDisposable
{
    private readonly Lazy<X509Certificate2?> _certificate = new(() => host.Options.Internal.CertificatePath is { } path
        ? X509Certificate2.CreateFromPemFile(path, host.Options.Internal.CertificateKeyPath)
        : null);

    // Loaded once: the client factory makes a new handler every few minutes, and each used to load (and leak) its own copy.
    private readonly Lazy<X509Certificate2?> _serverCa = new(() => host.Options.Internal.ServerCaPath is { } caPath
        ? X509CertificateLoader.LoadCertificateFromFile(caPath)
        : null);

    private readonly Lazy<string?> _token = new(() =>
    {
        if (host.Options.Internal.CertificatePath is not null) return null;
        var file = host.Options.Internal.TokenFile ?? Path.Combine(host.DataDirectory, "dev-credentials", DevelopmentMembers.InternalMember + ".token");
        return File.Exists(file) ? File.ReadAllText(file).Trim() : null;
    });

    /// <summary>The internal-service member's bearer token; null when it authenticates with a certificate.</summary>
    public string? BearerToken => _token.Value;

    public Uri AddressOf(string module) => Of(module)?.ChannelAddress ?? new Uri(SelfAddress());

    /// <summary>The configured address of <paramref name="module"/>; null when it runs in this process.</summary>
    public ModuleAddress? Of(string module) =>
        host.Options.Endpoints.TryGetValue(module, out var configured)
            ? ModuleAddress.TryParse(module, configured, host.Options.Internal.CertificatePath is not null)
                ?? throw new InvalidOperationException($"Verification:Endpoints:{module} is not {ModuleAddress.Expected}.")
            : null;

    /// <summary>The replicas of a fixed list, for the channel's <c>static:///module</c> resolver.</summary>
    public IReadOnlyList<BalancerAddress> ReplicasOf(Uri address)
    {
        var module = address.AbsolutePath.Trim('/');
        return Of(module) is { Replicas.Count: > 0 } list
            ? list.Replicas
            : throw new InvalidOperationException($"No list of replicas is configured for module '{module}'.");
    }

    public HttpMessageHandler CreateHandler()
    {
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
        if (_certificate.Value is { } certificate) handler.SslOptions.ClientCertificates = [certificate];
        if (_serverCa.Value is { } authority) handler.SslOptions.RemoteCertificateValidationCallback = CertificateAuthority.ServerValidation(authority);
        return handler;
    }

    public void Dispose()
    {
        if (_certificate.IsValueCreated) _certificate.Value?.Dispose();
        if (_serverCa.IsValueCreated) _serverCa.Value?.Dispose();
    }

    private string SelfAddress()
    {
        // Kestrel reports addresses in the order of its Listen calls: the gRPC port first, then the REST port if any.
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has not bound its address yet.");
        var uri = new Uri(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return $"{uri.Scheme}://127.0.0.1:{uri.Port}";
    }
}
