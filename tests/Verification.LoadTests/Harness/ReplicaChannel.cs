using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Verification.LoadTests.Harness;

/// <summary>
/// A partner's channel to every replica of a module (h2c, the member's bearer token), round robin: calls spread over the
/// replicas, and a replica whose connection fails leaves the rotation until it connects again. No retries of its own:
/// the caller retries (<see cref="BankCalls"/>), so every retried call is counted.
/// </summary>
public static class ReplicaChannel
{
    public static GrpcChannel Create(string module, IReadOnlyList<(string Host, int Port)> replicas, string bearerToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(replicas.Count);
        var addresses = replicas.Select(r => new BalancerAddress(r.Host, r.Port)).ToList();
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => addresses));
        var header = "Bearer " + bearerToken;
        return GrpcChannel.ForAddress($"static:///{module}", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", header);
                return Task.CompletedTask;
            })),
            // Loopback h2c to the harness's own processes and the compose deployment's published ports.
            UnsafeUseInsecureChannelCallCredentials = true,
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            // A replica started again is back in the rotation within a second or two, not after grpc's default of up to 120 s.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(100),
            MaxReconnectBackoff = TimeSpan.FromSeconds(2),
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
    }
}
