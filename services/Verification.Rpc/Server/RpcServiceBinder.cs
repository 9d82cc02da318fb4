using Microsoft.AspNetCore.Http;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Verification.Rpc.Server;

/// <summary>
/// Matches a handler class to a proto service, method by method, and compiles the dispatch once.
/// A proto method without a handler, or a handler of the wrong shape, stops start-up with a message naming it.
/// </summary>
internal static class RpcServiceBinder
{
    public static IReadOnlyList<ServerMethod> Bind(Type handlerType, ServiceDescriptor service, IReadOnlySet<string> unimplemented, IServiceProvider services)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RpcServerOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Verification.Rpc.Server");
        var isService = services.GetService<IServiceProviderIsService>();
        var registered = isService?.IsService(handlerType) ?? false;
        var singleton = registered && services.GetService<RpcHandlerLifetimes>()?.IsSingleton(handlerType) == true;
        foreach (var name in unimplemented)
        {
            if (service.FindMethodByName(name) is null)
                throw new InvalidOperationException($"{service.FullName} has no method '{name}' to leave unimplemented.");
        }

        var bound = new List<ServerMethod>();
        foreach (var method in service.Methods)
        {
            var type = TypeOf(method);
            var requestType = method.InputType.ClrType ?? throw new InvalidOperationException($"{service.FullName}.{method.Name}: input type {method.InputType.FullName} has no generated class.");
            var responseType = method.OutputType.ClrType ?? throw new InvalidOperationException($"{service.FullName}.{method.Name}: output type {method.OutputType.FullName} has no generated class.");
            if (unimplemented.Contains(method.Name))
            {
                bound.Add(new UnimplementedServerMethod(new RpcMethodInfo(method, type, handlerType, null), options, logger));
                continue;
            }

            var expected = ExpectedParameters(type, requestType, responseType);
            var expectedReturn = type is MethodType.Unary or MethodType.ClientStreaming
                ? typeof(Task<>).MakeGenericType(responseType)
                : typeof(Task);
            var candidates = handlerType.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == method.Name).ToList();
            var signature = $"{Display(expectedReturn)} {method.Name}({string.Join(", ", expected.Select(Display))})";
            if (candidates.Count == 0)
                throw new InvalidOperationException($"{handlerType.Name} has no handler for {service.FullName}.{method.Name}: expected 'public {signature}'.");
            var handlerMethod = candidates.FirstOrDefault(m => m.ReturnType == expectedReturn && m.GetParameters().Select(p => p.ParameterType).SequenceEqual(expected))
                ?? throw new InvalidOperationException($"{handlerType.Name}.{method.Name} has the wrong signature for {service.FullName}.{method.Name} ({type}): expected 'public {signature}'.");

            var info = new RpcMethodInfo(method, type, handlerType, handlerMethod);
            var parser = requestType.GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
            var create = typeof(RpcServiceBinder).GetMethod(nameof(Creator), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(handlerType).Invoke(null, [registered, singleton ? services : null])!;
            var (definition, delegateType) = type switch
            {
                MethodType.Unary => (typeof(UnaryServerMethod<,,>), typeof(Func<,,,>).MakeGenericType(handlerType, requestType, typeof(ServerCallContext), expectedReturn)),
                MethodType.ServerStreaming => (typeof(ServerStreamingServerMethod<,,>), typeof(Func<,,,,>).MakeGenericType(handlerType, requestType, typeof(IServerStreamWriter<>).MakeGenericType(responseType), typeof(ServerCallContext), typeof(Task))),
                MethodType.ClientStreaming => (typeof(ClientStreamingServerMethod<,,>), typeof(Func<,,,>).MakeGenericType(handlerType, typeof(IAsyncStreamReader<>).MakeGenericType(requestType), typeof(ServerCallContext), expectedReturn)),
                _ => (typeof(DuplexStreamingServerMethod<,,>), typeof(Func<,,,,>).MakeGenericType(handlerType, typeof(IAsyncStreamReader<>).MakeGenericType(requestType), typeof(IServerStreamWriter<>).MakeGenericType(responseType), typeof(ServerCallContext), typeof(Task))),
            };
            var invoker = handlerMethod.CreateDelegate(delegateType);
            var serverMethod = (ServerMethod)Activator.CreateInstance(
                definition.MakeGenericType(handlerType, requestType, responseType),
                info, options, logger, parser, invoker, create)!;
            bound.Add(serverMethod);
        }
        return bound;
    }

    private static Func<HttpContext, THandler> Creator<THandler>(bool registered, IServiceProvider? root) where THandler : class
    {
        // A singleton handler needs no request scope: touching the call's RequestServices would create one per call.
        if (root is not null)
        {
            var instance = new Lazy<THandler>(root.GetRequiredService<THandler>);
            return _ => instance.Value;
        }
        if (registered) return static http => http.RequestServices.GetRequiredService<THandler>();
        var factory = ActivatorUtilities.CreateFactory<THandler>([]);
        return http => factory(http.RequestServices, null);
    }

    private static MethodType TypeOf(MethodDescriptor method) => (method.IsClientStreaming, method.IsServerStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (true, false) => MethodType.ClientStreaming,
        (false, true) => MethodType.ServerStreaming,
        _ => MethodType.DuplexStreaming,
    };

    private static Type[] ExpectedParameters(MethodType type, Type request, Type response) => type switch
    {
        MethodType.Unary => [request, typeof(ServerCallContext)],
        MethodType.ServerStreaming => [request, typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext)],
        MethodType.ClientStreaming => [typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(ServerCallContext)],
        _ => [typeof(IAsyncStreamReader<>).MakeGenericType(request), typeof(IServerStreamWriter<>).MakeGenericType(response), typeof(ServerCallContext)],
    };

    private static string Display(Type type) =>
        type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(Display))}>" : type.Name;

    internal static bool IsMessage(Type type) => typeof(IMessage).IsAssignableFrom(type);
}
