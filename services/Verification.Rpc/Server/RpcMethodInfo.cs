using System.Reflection;
using Google.Protobuf.Reflection;

namespace Verification.Rpc.Server;

/// <summary>What the pipeline knows about a bound method: its proto descriptor, its handler and the handler's attributes.</summary>
public sealed class RpcMethodInfo
{
    internal RpcMethodInfo(MethodDescriptor descriptor, MethodType type, Type handlerType, MethodInfo? handlerMethod)
    {
        Descriptor = descriptor;
        Type = type;
        HandlerType = handlerType;
        HandlerMethod = handlerMethod;
        ServiceName = descriptor.Service.FullName;
        Name = descriptor.Name;
        FullName = $"/{ServiceName}/{Name}";
        var attributes = new List<object>(handlerType.GetCustomAttributes(inherit: true));
        if (handlerMethod is not null) attributes.AddRange(handlerMethod.GetCustomAttributes(inherit: true));
        Attributes = attributes;
    }

    public MethodDescriptor Descriptor { get; }

    public MethodType Type { get; }

    public string ServiceName { get; }

    public string Name { get; }

    /// <summary>The HTTP/2 path, <c>/package.Service/Method</c>.</summary>
    public string FullName { get; }

    public Type HandlerType { get; }

    public MethodInfo? HandlerMethod { get; }

    /// <summary>Attributes of the handler class, then of the handler method (so the method's come last and can override).</summary>
    public IReadOnlyList<object> Attributes { get; }

    public T? GetAttribute<T>() where T : Attribute => Attributes.OfType<T>().LastOrDefault();

    public override string ToString() => FullName;
}
