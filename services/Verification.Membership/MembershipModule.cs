using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features.EndCoverage;
using Verification.Membership.Features.Enrol;
using Verification.Membership.Features.Verify;
using Verification.Membership.Grpc;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Outbox;
using Grpc.HealthCheck;

namespace Verification.Membership;

/// <summary>The participant registry as a module of the host: its database, features, gRPC service and health.</summary>
public static class MembershipModule
{
    public const string Name = "membership";

    public static readonly string ServiceName = ApiDescriptors.Membership.FullName;

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddMembership(host), app => app.MapMembership());

    public static WebApplicationBuilder AddMembership(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var services = builder.Services;
        var database = services.AddModule<MembershipDbContext>(host, Name, ServiceName);
        services.TryAddSingleton(ContributionRateTable.Embedded);
        services.AddSingleton(_ => new RegistryReader(database));
        services.AddSingleton<VerificationCoalescer>();
        services.AddHostedService(sp => sp.GetRequiredService<VerificationCoalescer>());
        services.AddSingleton<BatchVerification>();
        services.AddScoped<ParticipantEnrolment>();
        services.AddScoped<CoverageEnding>();
        return builder;
    }

    public static WebApplication MapMembership(this WebApplication app)
    {
        app.MapGrpcService<MembershipGrpcService>();
        return app;
    }
}
