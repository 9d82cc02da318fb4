using System.Collections.Concurrent;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Verification.Platform.Rpc;

/// <summary>What the pipeline knows about the method being called: its names and the attributes of its service class and override.</summary>
public sealed class RpcMethod
{
    private static readonly ConcurrentDictionary<Endpoint, RpcMethod> ByEndpoint = new();

    private RpcMethod(string serviceName, string name, Type serviceType, IReadOnlyList<object> metadata)
    {
        ServiceName = serviceName;
        Name = name;
        FullName = $"/{serviceName}/{name}";
        ServiceType = serviceType;
        Metadata = metadata;
    }

    public string ServiceName { get; }

    public string Name { get; }

    /// <summary>The HTTP/2 path, <c>/package.Service/Method</c>.</summary>
    public string FullName { get; }

    public Type ServiceType { get; }

    /// <summary>Endpoint metadata in grpc-dotnet's order: the service class's attributes, then the method's (so the method's win).</summary>
    public IReadOnlyList<object> Metadata { get; }

    public T? GetAttribute<T>() where T : Attribute => Metadata.OfType<T>().LastOrDefault();

    /// <summary>The method of a gRPC endpoint; null for anything else.</summary>
    public static RpcMethod? Of(Endpoint endpoint)
    {
        if (ByEndpoint.TryGetValue(endpoint, out var known)) return known;
        if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpc) return null;
        return ByEndpoint.GetOrAdd(endpoint, new RpcMethod(grpc.Method.ServiceName, grpc.Method.Name, grpc.ServiceType, [.. endpoint.Metadata]));
    }

    /// <summary>The method this call is for.</summary>
    public static RpcMethod Of(ServerCallContext context) =>
        (context.GetHttpContext().GetEndpoint() is { } endpoint ? Of(endpoint) : null)
        ?? throw new InvalidOperationException($"{context.Method} has no gRPC endpoint.");

    public override string ToString() => FullName;
}
