using Grpc.Net.Client.Balancer;

namespace Verification.Platform.Hosting;

/// <summary>
/// Where another module answers, as <c>Verification:Endpoints:&lt;module&gt;</c> says: one address
/// (<c>http://membership:50051</c>), every replica behind a DNS name (<c>dns:///membership-replicas:50051</c>, e.g. a
/// Kubernetes headless Service), or a fixed list (<c>http://10.0.0.5:50051,http://10.0.0.6:50051</c>). The last two spread
/// calls over the replicas (round robin) and move away from one that stops answering.
/// </summary>
public sealed record ModuleAddress(Uri ChannelAddress, bool Balanced, bool Secure, IReadOnlyList<BalancerAddress> Replicas)
{
    /// <summary>The scheme of a fixed list's channel address; <see cref="ModuleEndpoints"/> resolves it.</summary>
    public const string ListScheme = "static";

    /// <summary>What a valid value looks like, for configuration errors.</summary>
    public const string Expected = "an http:// or https:// address, a comma-separated list of them (one per replica), or dns:///host:port (every address of the name)";

    /// <summary>Reads an endpoint value; null when it is none of the accepted forms.</summary>
    public static ModuleAddress? TryParse(string module, string? value, bool internalTls)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && Uri.TryCreate(parts[0], UriKind.Absolute, out var single))
        {
            if (single.Scheme is "http" or "https") return new ModuleAddress(single, false, single.Scheme == "https", []);
            // dns:///host:port — an authority in dns://server/ would name a DNS server, which Grpc.Net.Client does not support.
            if (single.Scheme == "dns" && string.IsNullOrEmpty(single.Authority) && single.AbsolutePath.Trim('/') is { Length: > 0 } name && !name.Contains('/', StringComparison.Ordinal))
                return new ModuleAddress(single, true, internalTls, []);
            return null;
        }

        var replicas = new List<Uri>();
        foreach (var part in parts)
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/") return null;
            replicas.Add(uri);
        }

        if (replicas.Select(r => r.Scheme).Distinct().Count() != 1) return null; // all TLS or none: one channel's credentials
        return new ModuleAddress(
            new Uri($"{ListScheme}:///{module.ToLowerInvariant()}"), true, replicas[0].Scheme == "https",
            [.. replicas.Select(r => new BalancerAddress(r.Host, r.Port))]);
    }
}
