using MassTransit;
using Microsoft.AspNetCore.Builder;

namespace Verification.Platform.Hosting;

/// <summary>
/// One service of the suite as the host sees it: its name (as in <c>Verification:Services</c>), how it adds its
/// services (<c>Add&lt;Area&gt;</c>), its bus consumers, how it maps its gRPC services (<c>Map&lt;Area&gt;</c>), and the
/// modules it calls over gRPC (<see cref="Needs"/>): each must run in the same host or be given in <c>Verification:Endpoints</c>.
/// </summary>
public sealed record VerificationModule(
    string Name,
    Action<WebApplicationBuilder, VerificationHostContext> AddServices,
    Action<WebApplication> Map,
    Action<IBusRegistrationConfigurator>? AddConsumers = null,
    IReadOnlyList<string>? Needs = null)
{
    /// <summary>The modules this one calls over gRPC; what it hears only from the bus is no dependency.</summary>
    public IReadOnlyList<string> Needs { get; init; } = Needs ?? [];

    /// <summary>False for a module that keeps nothing (the portal): no connection string of its own is asked for.</summary>
    public bool HasDatabase { get; init; } = true;
}
