using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.Domain;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Membership.Features.EndCoverage;
using Verification.Membership.Features.Enrol;
using Verification.Membership.Features.Lookup;
using Verification.Membership.Features.Verify;
using Verification.Membership.Grpc;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Outbox;
using Verification.Platform.Privacy;

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
        services.AddNikSealer(builder.Configuration, host);
        services.TryAddSingleton(ContributionRateTable.Embedded);
        // Singletons: a store rents a context per unit of work, so a call that reads no table (a quote, a coalesced verification) leases none.
        services.AddSingleton<RegistryStore>(sp => database.Provider == DatabaseProvider.Postgres
            ? new PostgresRegistryStore(database, sp.GetRequiredService<DbContextOptions<MembershipDbContext>>(), sp.GetRequiredService<OutboxSignal<MembershipDbContext>>())
            : new SqliteRegistryStore(database, sp.GetRequiredService<DbContextOptions<MembershipDbContext>>()));
        services.AddSingleton<VerificationCoalescer>();
        services.AddHostedService(sp => sp.GetRequiredService<VerificationCoalescer>());
        services.AddSingleton<BatchVerification>();
        services.AddSingleton<ParticipantEnrolment>();
        services.AddSingleton<EnrolmentCoalescer>();
        services.AddHostedService(sp => sp.GetRequiredService<EnrolmentCoalescer>());
        services.AddSingleton<CoverageEnding>();
        services.AddSingleton<ParticipantLookup>();
        return builder;
    }

    public static WebApplication MapMembership(this WebApplication app)
    {
        app.MapGrpcService<MembershipGrpcService>();
        return app;
    }
}
