using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Verification.Contracts.Events;

namespace Verification.Platform.Outbox;

/// <summary>
/// Resolves a stored message type name back to its CLR type. Names, not assembly-qualified names, are stored:
/// contracts are never renamed, but their assembly version changes with every release.
/// </summary>
public sealed class OutboxEventTypes
{
    /// <summary>How payloads are written to and read from the outbox.</summary>
    public static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<string, Type> types = new(StringComparer.Ordinal);

    public OutboxEventTypes()
    {
        AddAssembly(typeof(IIntegrationEvent).Assembly);
    }

    /// <summary>Makes the relay able to publish events declared outside Verification.Contracts.</summary>
    public OutboxEventTypes AddAssembly(Assembly assembly)
    {
        foreach (var type in assembly.GetTypes())
        {
            if (type is { IsClass: true, IsAbstract: false } && typeof(IIntegrationEvent).IsAssignableFrom(type))
            {
                types[NameOf(type)] = type;
            }
        }

        return this;
    }

    public static string NameOf(Type type) => type.FullName ?? type.Name;

    public bool TryResolve(string messageType, out Type type) => types.TryGetValue(messageType, out type!);
}
