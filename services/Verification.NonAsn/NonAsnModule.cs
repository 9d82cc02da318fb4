using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.Api.Membership.V1;
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
using Verification.Platform.Privacy;

namespace Verification.NonAsn;

/// <summary>Non-ASN staff registration: agencies and local governments register their non-civil-servant staff through Membership over gRPC.</summary>
public static class NonAsnModule
{
    public const string Name = "nonasn";

    public static readonly string ServiceName = ApiDescriptors.NonAsn.FullName;

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddNonAsn(host), app => app.MapNonAsn(), Needs: ["membership"]);

    public static WebApplicationBuilder AddNonAsn(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = NonAsnSettings.Read(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddNikSealer(builder.Configuration, host);
        // A bulk upload commits hundreds of events at once: larger rounds let the relay keep up.
        var database = services.AddModule<NonAsnDbContext>(host, Name, ServiceName, outbox: o => o.BatchSize = 500);
        services.AddSingleton(StaffNikCipher.Load(builder.Configuration[NonAsnSettings.NikKeySetting], host));
        // After the module's migrations (registered by AddModule), before anything serves.
        services.AddHostedService<StaffNikConversion>();
        if (database.Provider == DatabaseProvider.Postgres) services.AddScoped<EmploymentStore, PostgresEmploymentStore>();
        else services.AddScoped<EmploymentStore, SqliteEmploymentStore>();
        services.AddModuleClient<MembershipService.MembershipServiceClient>("membership");
        services.AddSingleton<IMembershipRegistry, MembershipRegistry>();
        services.AddSingleton<EmployeeUpload>();
        services.AddScoped<EmployeeRegistration>();
        services.AddScoped<EmploymentChanges>();
        services.AddScoped<EmploymentReader>();
        services.AddScoped<ContributionStatement>();
        return builder;
    }

    public static WebApplication MapNonAsn(this WebApplication app)
    {
        app.MapGrpcService<NonAsnGrpcService>();
        return app;
    }
}
