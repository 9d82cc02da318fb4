using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Rpc.Services;

namespace Verification.Rpc.Server;

public static class RpcServerExtensions
{
    /// <summary>Registers the gRPC server: options, the method registry, health status.</summary>
    public static IServiceCollection AddRpcServer(this IServiceCollection services, Action<RpcServerOptions>? configure = null)
    {
        var builder = services.AddOptions<RpcServerOptions>();
        if (configure is not null) builder.Configure(configure);
        services.AddSingleton<RpcServiceRegistry>();
        services.AddSingleton<HealthStatusRegistry>();
        services.AddSingleton<ReflectionIndex>();
        services.AddSingleton(new RpcHandlerLifetimes(services));
        return services;
    }

    /// <summary>Puts the gRPC dispatcher in the pipeline; map services before the app starts.</summary>
    public static IApplicationBuilder UseRpcServer(this IApplicationBuilder app) => app.UseMiddleware<RpcDispatcher>();

    /// <summary>Binds <typeparamref name="THandler"/> to <paramref name="service"/>; every proto method needs a handler unless listed as unimplemented.</summary>
    public static IApplicationBuilder MapRpcService<THandler>(this IApplicationBuilder app, ServiceDescriptor service, params string[] unimplementedMethods)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(service);
        var services = app.ApplicationServices;
        var registry = services.GetRequiredService<RpcServiceRegistry>();
        var methods = RpcServiceBinder.Bind(typeof(THandler), service, new HashSet<string>(unimplementedMethods, StringComparer.Ordinal), services);
        var interceptors = services.GetServices<IServerInterceptor>().ToList();
        foreach (var method in methods) method.ComposePipeline(interceptors);
        registry.Add(service, methods);
        return app;
    }

    /// <summary>Maps <c>grpc.health.v1.Health</c>.</summary>
    public static IApplicationBuilder MapRpcHealth(this IApplicationBuilder app) =>
        app.MapRpcService<HealthService>(Grpc.Health.V1.HealthReflection.Descriptor.Services[0]);

    /// <summary>Maps server reflection, <c>grpc.reflection.v1</c> and <c>v1alpha</c>, so grpcurl works.</summary>
    public static IApplicationBuilder MapRpcReflection(this IApplicationBuilder app) =>
        app.MapRpcService<ReflectionServiceV1>(Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0])
           .MapRpcService<ReflectionServiceV1Alpha>(Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
}
