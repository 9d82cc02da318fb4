using Microsoft.Extensions.DependencyInjection;

namespace Verification.Rpc.Server;

/// <summary>How handler classes were registered, read from the service collection when services are mapped (after every registration).</summary>
internal sealed class RpcHandlerLifetimes(IServiceCollection services)
{
    public bool IsSingleton(Type handlerType)
    {
        ServiceLifetime? lifetime = null;
        foreach (var descriptor in services)
        {
            // The last registration wins, as it does when the provider resolves the type.
            if (descriptor.ServiceType == handlerType && !descriptor.IsKeyedService) lifetime = descriptor.Lifetime;
        }
        return lifetime == ServiceLifetime.Singleton;
    }
}
