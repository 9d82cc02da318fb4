using System.Collections.Frozen;
using Google.Protobuf.Reflection;

namespace Verification.Rpc.Server;

/// <summary>Every bound method by path, and the proto files behind them (for reflection). Frozen when the server starts.</summary>
public sealed class RpcServiceRegistry
{
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);
    private readonly List<ServiceDescriptor> _services = [];
    private FrozenDictionary<string, ServerMethod>? _frozen;
    private FrozenSet<string>? _serviceNames;

    public IReadOnlyList<ServiceDescriptor> Services => _services;

    internal void Add(ServiceDescriptor service, IReadOnlyList<ServerMethod> methods)
    {
        if (_frozen is not null) throw new InvalidOperationException("Services must be mapped before the server starts.");
        if (_services.Any(s => s.FullName == service.FullName)) throw new InvalidOperationException($"Service {service.FullName} is mapped twice.");
        foreach (var method in methods) _methods.Add(method.Info.FullName, method);
        _services.Add(service);
    }

    internal void Freeze()
    {
        _frozen ??= _methods.ToFrozenDictionary(StringComparer.Ordinal);
        _serviceNames ??= _services.Select(s => s.FullName).ToFrozenSet(StringComparer.Ordinal);
    }

    internal bool TryGetMethod(string path, out ServerMethod method)
    {
        var table = _frozen ?? throw new InvalidOperationException("The registry is not frozen.");
        return table.TryGetValue(path, out method!);
    }

    internal bool HasService(string name) => _serviceNames!.Contains(name);

    public IEnumerable<RpcMethodInfo> Methods => _methods.Values.Select(m => m.Info);
}
