using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;

namespace Verification.Platform.Rpc;

/// <summary>
/// grpc-dotnet parses a request message before any interceptor runs, and a message that does not parse fails the call
/// with UNKNOWN ("Exception was thrown by handler"). The supported hook is the method's request marshaller: services are
/// bound here, exactly as grpc-dotnet's own binder does (the generated <c>BindService</c>, the same handler methods and
/// endpoint metadata), but each request marshaller answers a truncated or garbage message INVALID_ARGUMENT with a
/// fixed message, never echoing the bytes; the connection and every other call on it go on.
/// </summary>
/// <remarks>
/// Parsing still happens before admission: a garbage body without credentials is INVALID_ARGUMENT, not UNAUTHENTICATED.
/// It costs no database work and no audit row, and tells a stranger nothing about the service.
/// </remarks>
public static class MalformedMessageBinding
{
    /// <summary>Replaces grpc-dotnet's binder of generated services with <see cref="MalformedMessageMethodProvider{TService}"/>.</summary>
    public static IServiceCollection AnswerMalformedMessagesInvalid(this IServiceCollection services)
    {
        var binders = services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)
            && d.ImplementationType is { Name: "BinderServiceMethodProvider`1", Namespace: "Grpc.AspNetCore.Server.Model.Internal" }).ToList();
        // Both binders would map every method twice (every call then fails with an ambiguous match): call this after every AddGrpc.
        if (binders.Count == 0)
            throw new InvalidOperationException("grpc-dotnet's BinderServiceMethodProvider is not registered: call after AddGrpc (or grpc-dotnet changed how it binds services).");
        foreach (var binder in binders) services.Remove(binder);
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(MalformedMessageMethodProvider<>));
        return services;
    }

    /// <summary>The status of a request message that does not parse.</summary>
    public static RpcException Malformed(string messageType) => RpcErrors.Of(StatusCode.InvalidArgument,
        $"The request message is not a valid {messageType}: it is truncated or is not protobuf. Nothing was done.");

    /// <summary><paramref name="marshaller"/>, answering a message that does not parse as INVALID_ARGUMENT.</summary>
    public static Marshaller<T> Strict<T>(Marshaller<T> marshaller)
    {
        var deserialize = marshaller.ContextualDeserializer;
        var name = typeof(T).Name;
        return new Marshaller<T>(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException)
            {
                // The parser's text names offsets and tags of the caller's bytes: the answer says only what was wrong.
                throw Malformed(name);
            }
        });
    }
}

/// <summary>grpc-dotnet's binding of a generated service (see <see cref="MalformedMessageBinding"/>), with strict request marshallers.</summary>
public sealed class MalformedMessageMethodProvider<TService> : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (BindMethod(typeof(TService)) is not { } bind) return;
        try
        {
            bind.Invoke(null, [new Binder(context, bind.GetParameters()[1].ParameterType), null]);
        }
        catch (TargetInvocationException ex)
        {
            throw new InvalidOperationException($"Error binding gRPC service '{typeof(TService).Name}'.", ex.InnerException ?? ex);
        }
    }

    /// <summary>The generated <c>BindService(ServiceBinderBase, TServiceBase)</c>, found as grpc-dotnet finds it.</summary>
    private static MethodInfo? BindMethod(Type serviceType)
    {
        for (var type = serviceType; type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>() is { } attribute)
            {
                return attribute.BindType.GetMethod(attribute.BindMethodName, BindingFlags.Public | BindingFlags.Static, binder: null,
                    [typeof(ServiceBinderBase), type], modifiers: null);
            }
        }

        return null;
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context, Type declaringType) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(TRequest), typeof(ServerCallContext)]);
            context.AddUnaryMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext)]);
            context.AddClientStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddServerStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddDuplexStreamingMethod(Strict(method), metadata, invoker);
        }

        private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method) where TRequest : class where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, MalformedMessageBinding.Strict(method.RequestMarshaller), method.ResponseMarshaller);

        /// <summary>The handler and endpoint metadata, as grpc-dotnet's binder makes them (type attributes first, then the method's).</summary>
        private (TDelegate Invoker, List<object> Metadata) Model<TDelegate>(string methodName, Type[] parameters) where TDelegate : Delegate
        {
            var handler = Handler(methodName, parameters) ?? throw new InvalidOperationException($"Could not find '{methodName}' on {typeof(TService)}.");
            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(handler.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
        }

        /// <summary>The public override of the generated base's method (a method hiding it by name is skipped, as grpc-dotnet does).</summary>
        private MethodInfo? Handler(string methodName, Type[] parameters)
        {
            for (var type = typeof(TService); type is not null; type = type.BaseType)
            {
                var method = type.GetMethod(methodName, BindingFlags.Public | BindingFlags.Instance, binder: null, parameters, modifiers: null);
                if (method is null) return null;
                if (method.IsVirtual && method.GetBaseDefinition().DeclaringType == declaringType) return method;
            }

            return null;
        }
    }
}
