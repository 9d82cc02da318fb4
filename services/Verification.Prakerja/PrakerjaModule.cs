using Verification.Api.Membership.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Platform.Hosting;
using Verification.Platform.Leases;
using Verification.Prakerja.Data;
using Verification.Prakerja.Features;
using Verification.Prakerja.Features.CrossCheck;
using Verification.Prakerja.Features.Process;
using Verification.Prakerja.Features.Results;
using Verification.Prakerja.Features.Submit;
using Verification.Prakerja.Grpc;

namespace Verification.Prakerja;

/// <summary>Prakerja cross-check: the PMO checks card recipients against the registry, through Membership's bulk verification over gRPC.</summary>
public static class PrakerjaModule
{
    public const string Name = "prakerja";

    public static readonly string ServiceName = ApiDescriptors.Prakerja.FullName;

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddPrakerja(host), app => app.MapPrakerja(), Needs: ["membership"]);

    public static WebApplicationBuilder AddPrakerja(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = PrakerjaSettings.Read(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        var database = services.AddModule<PrakerjaDbContext>(host, Name, ServiceName);
        // One data path per provider, chosen by the database: features see only the store.
        services.AddSingleton(sp => PrakerjaStore.For(database, sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<BatchSignals>();
        services.AddModuleClient<MembershipService.MembershipServiceClient>("membership");
        services.AddSingleton<RegistryCheck>();
        services.AddSingleton<BatchProcessor>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BatchWorker>(sp, new JobLeases(database)));
        services.AddHostedService(sp => sp.GetRequiredService<BatchWorker>());
        services.AddSingleton<InteractiveCrossCheck>();
        services.AddSingleton<BatchSubmission>();
        services.AddSingleton<BatchResults>();
        return builder;
    }

    public static WebApplication MapPrakerja(this WebApplication app)
    {
        app.MapGrpcService<PrakerjaGrpcService>();
        return app;
    }
}
