using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;
using Verification.Rentan.Data;
using Verification.Rentan.Features;
using Verification.Rentan.Features.Enrol;
using Verification.Rentan.Features.Extracts;
using Verification.Rentan.Features.Money;
using Verification.Rentan.Features.Renewal;
using Verification.Rentan.Features.Sponsors;
using Verification.Rentan.Grpc;

namespace Verification.Rentan;

/// <summary>Vulnerable workers sponsored by local governments (Inpres 8/2025): sponsors, agreements, DTSEN extracts, enrolment through Membership over gRPC.</summary>
public static class RentanModule
{
    public const string Name = "rentan";

    public static readonly string ServiceName = ApiDescriptors.Rentan.FullName;

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddRentan(host), app => app.MapRentan(), Needs: [MembershipRegistry.ModuleName]);

    public static WebApplicationBuilder AddRentan(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = RentanSettings.Read(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        // A list or a December update commits thousands of events at once: larger rounds let the relay keep up.
        var database = services.AddModule<RentanDbContext>(host, Name, ServiceName, outbox: o => o.BatchSize = 500);
        services.AddSingleton(WorkerNikCipher.Load(builder.Configuration[RentanSettings.NikKeySetting], host));
        // After the module's migrations (registered by AddModule), before anything serves.
        services.AddHostedService<WorkerNikConversion>();
        // The store rents its own contexts (chunks in flight share it), so it is a singleton over the module's options.
        if (database.Provider == DatabaseProvider.Postgres) services.AddSingleton<RentanStore, PostgresRentanStore>();
        else services.AddSingleton<RentanStore, SqliteRentanStore>();
        // Enrolments and budget refusals carry the NIK sealed to the audit log's key.
        services.AddNikSealer(builder.Configuration, host);
        services.AddModuleClient<MembershipService.MembershipServiceClient>(MembershipRegistry.ModuleName);
        services.AddSingleton<IMembershipRegistry, MembershipRegistry>();
        services.AddSingleton(MinimumDeclaredIncome.Embedded);
        services.AddSingleton<SponsorAdministration>();
        services.AddSingleton<ExtractUpload>();
        services.AddSingleton<WorkerEnrolment>();
        services.AddSingleton<AnnualUpdate>();
        services.AddSingleton<Invoice>();
        return builder;
    }

    public static WebApplication MapRentan(this WebApplication app)
    {
        app.MapGrpcService<RentanGrpcService>();
        return app;
    }
}
