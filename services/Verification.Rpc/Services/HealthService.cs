using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Health.V1;
using Verification.Rpc.Server;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Verification.Rpc.Services;

/// <summary>Serving status per service name; <c>""</c> is the whole server. Modules set theirs from their own checks.</summary>
public sealed class HealthStatusRegistry
{
    private readonly ConcurrentDictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal) { [""] = ServingStatus.Serving };
    private readonly ConcurrentDictionary<Channel<(string, ServingStatus)>, byte> _watchers = new();

    public void SetStatus(string service, ServingStatus status)
    {
        if (_statuses.TryGetValue(service, out var old) && old == status) return;
        _statuses[service] = status;
        foreach (var watcher in _watchers.Keys) watcher.Writer.TryWrite((service, status));
    }

    public ServingStatus? GetStatus(string service) => _statuses.TryGetValue(service, out var status) ? status : null;

    public IReadOnlyDictionary<string, ServingStatus> Snapshot() => new Dictionary<string, ServingStatus>(_statuses);

    internal Channel<(string Service, ServingStatus Status)> Subscribe()
    {
        var channel = Channel.CreateBounded<(string, ServingStatus)>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });
        _watchers[channel] = 0;
        return channel;
    }

    internal void Unsubscribe(Channel<(string, ServingStatus)> channel) => _watchers.TryRemove(channel, out _);
}

/// <summary>Marks a handler (class or method) as callable without credentials. Only health is.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class AllowAnonymousRpcAttribute : Attribute;

/// <summary><c>grpc.health.v1.Health</c> as grpc doc/health-checking.md describes it.</summary>
[AllowAnonymousRpc]
public sealed class HealthService(HealthStatusRegistry registry)
{
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        var status = registry.GetStatus(request.Service)
            ?? throw new RpcException(StatusCode.NotFound, "Unknown service.");
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        var channel = registry.Subscribe();
        try
        {
            var last = registry.GetStatus(request.Service) ?? ServingStatus.ServiceUnknown;
            await responses.WriteAsync(new HealthCheckResponse { Status = last }, context.CancellationToken);
            await foreach (var (service, status) in channel.Reader.ReadAllAsync(context.CancellationToken))
            {
                if (service != request.Service || status == last) continue;
                last = status;
                await responses.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The watcher went away or its deadline passed; that is how a Watch ends.
            throw;
        }
        finally
        {
            registry.Unsubscribe(channel);
        }
    }
}
