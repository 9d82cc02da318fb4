using Verification.Platform.Bus;
using Verification.Platform.Data;

namespace Verification.Platform.Hosting;

/// <summary>The validated settings and the chosen modules, shared by the host and every module while they compose themselves.</summary>
public sealed record VerificationHostContext(
    VerificationOptions Options,
    DatabaseOptions Database,
    BusOptions Bus,
    IReadOnlyList<string> Modules,
    string DataDirectory)
{
    public bool Hosts(string module) => Modules.Contains(module, StringComparer.OrdinalIgnoreCase);

    /// <summary>Development files (members, tokens, keys) made while composing, written once every setting is checked.</summary>
    public FirstStartFiles FirstStart { get; } = new();
}
