using MassTransit;
using Microsoft.AspNetCore.Builder;

namespace Verification.Platform.Hosting;

/// <summary>
/// One service of the suite as the host sees it: its name (as in <c>Verification:Services</c>), how it adds its
/// services (<c>Add&lt;Area&gt;</c>), its bus consumers, and how it maps its gRPC services (<c>Map&lt;Area&gt;</c>).
/// </summary>
public sealed record VerificationModule(
    string Name,
    Action<WebApplicationBuilder, VerificationHostContext> AddServices,
    Action<WebApplication> Map,
    Action<IBusRegistrationConfigurator>? AddConsumers = null);
