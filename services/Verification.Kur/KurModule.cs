using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Features.Reconcile;
using Verification.Kur.Features.Report;
using Verification.Kur.Grpc;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Outbox;
using Verification.Platform.Privacy;

namespace Verification.Kur;

/// <summary>KUR borrower enrolment: banks check and enrol KUR borrowers at loan time, through Membership over gRPC.</summary>
public static class KurModule
{
    public const string Name = "kur";

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddKur(host), app => app.MapKur(), Needs: ["membership"]);

    public static WebApplicationBuilder AddKur(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = KurSettings.Read(builder.Configuration, host);
        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddSingleton(settings.LoadFingerprint());
        services.AddNikSealer(builder.Configuration, host);
        services.AddSingleton(KurReferenceData.Embedded);
        var database = services.AddModule<KurDbContext>(host, Name, ApiDescriptors.Kur.FullName);
        if (database.Provider == DatabaseProvider.Postgres)
        {
            services.AddSingleton(sp => new PostgresKurWrites(database, sp.GetRequiredService<OutboxSignal<KurDbContext>>()));
            services.AddHostedService(sp => sp.GetRequiredService<PostgresKurWrites>());
            services.AddScoped<KurStore, PostgresKurStore>();
        }
        else services.AddScoped<KurStore, SqliteKurStore>();
        services.AddModuleClient<MembershipService.MembershipServiceClient>("membership");
        services.AddSingleton<IMembershipRegistry, MembershipRegistry>();
        services.AddScoped<BorrowerEnrolment>();
        services.AddScoped<EnrolmentCancellation>();
        services.AddScoped<EnrolmentReader>();
        services.AddScoped<CoverageReport>();
        return builder;
    }

    public static WebApplication MapKur(this WebApplication app)
    {
        app.MapGrpcService<KurGrpcService>();
        return app;
    }
}
