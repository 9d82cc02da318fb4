using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Verification.Rpc.Client;

namespace Verification.Platform.Hosting;

/// <summary>
/// Channels to the other modules, authenticated as the internal-service member. In monolithic mode a module
/// calls its neighbours through this same server, so there is one code path in both modes.
/// </summary>
public sealed class ModuleChannels(VerificationHostContext host, IServer server) : IDisposable
{
    private readonly ConcurrentDictionary<string, RpcChannel> _channels = new(StringComparer.OrdinalIgnoreCase);

    public RpcChannel For(string module) => _channels.GetOrAdd(module, Create);

    private RpcChannel Create(string module)
    {
        var options = host.Options;
        var address = options.Endpoints.TryGetValue(module, out var configured) ? configured : SelfAddress();
        var channelOptions = new RpcChannelOptions { DefaultDeadline = options.Internal.DefaultDeadline };
        if (options.Internal.CertificatePath is { } certificate)
            channelOptions.ClientCertificate = X509Certificate2.CreateFromPemFile(certificate, options.Internal.CertificateKeyPath);
        if (options.Internal.ServerCaPath is { } caPath) channelOptions.TrustOnly(caPath);
        var tokenFile = options.Internal.TokenFile ?? Path.Combine(host.DataDirectory, "dev-credentials", DevelopmentMembers.InternalMember + ".token");
        if (channelOptions.ClientCertificate is null && File.Exists(tokenFile)) channelOptions.BearerToken = File.ReadAllText(tokenFile).Trim();
        return new RpcChannel(address, channelOptions);
    }

    private string SelfAddress()
    {
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has not bound its address yet.");
        var uri = new Uri(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return $"{uri.Scheme}://127.0.0.1:{uri.Port}";
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values) channel.Dispose();
    }
}
