using Verification.Api.Membership.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features;
using Verification.NonAsn.Features.Change;
using Verification.NonAsn.Features.Register;
using Verification.NonAsn.Features.Statement;
using Verification.NonAsn.Grpc;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Outbox;
using Grpc.HealthCheck;

namespace Verification.NonAsn;

/// <summary>Non-ASN staff registration: agencies and local governments register their non-civil-servant staff through Membership over gRPC.</summary>
public static class NonAsnModule
{
    public const string Name = "nonasn";

    public const string ServiceName = "verification.nonasn.v1.NonAsnService";

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddNonAsn(host), app => app.MapNonAsn(), Needs: ["membership"]);

    public static WebApplicationBuilder AddNonAsn(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = NonAsnSettings.Read(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);
        services.AddModuleDatabase<NonAsnDbContext>(host.Database.For(Name), typeof(NonAsnDbContext).Assembly, NonAsnDbContext.MigrationsNamespace);
        services.AddOutboxRelay<NonAsnDbContext>();
        // A bulk upload commits hundreds of events at once: larger rounds let the relay keep up.
        services.Configure<OutboxOptions>(OutboxRelay<NonAsnDbContext>.OptionsName, o => o.BatchSize = 500);
        services.AddModuleClient<MembershipService.MembershipServiceClient>("membership");
        services.AddSingleton<IMembershipRegistry, MembershipRegistry>();
        services.AddScoped<EmployeeRegistration>();
        services.AddScoped<EmploymentChanges>();
        services.AddScoped<EmploymentReader>();
        services.AddScoped<ContributionStatement>();
        services.AddHostedService(sp => new ModuleHealthReporter<NonAsnDbContext>(
            sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<HealthServiceImpl>(),
            [ServiceName], watchBus: host.Bus.Transport == BusTransport.RabbitMq));
        return builder;
    }

    public static WebApplication MapNonAsn(this WebApplication app)
    {
        app.MapGrpcService<NonAsnGrpcService>();
        return app;
    }
}
