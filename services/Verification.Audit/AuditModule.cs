using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Audit.Consumers;
using Verification.Audit.Data;
using Verification.Audit.Features.Append;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Keys;
using Verification.Audit.Features.Proofs;
using Verification.Audit.Features.Read;
using Verification.Audit.Features.Trace;
using Verification.Audit.Features.Witness;
using Verification.Audit.Grpc;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;

namespace Verification.Audit;

/// <summary>The audit module: consumes every event of the suite into a verifiable log that auditors search and prove.</summary>
public static class AuditModule
{
    public const string Name = "audit";

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddAudit(host), app => app.MapAudit(), AuditConsumers.Register);

    public static WebApplicationBuilder AddAudit(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(host);
        var settings = AuditSettings.Read(builder.Configuration, host);
        // Both keys go to the container through factories below, so it disposes them; CA2000 does not follow the capture.
#pragma warning disable CA2000
        var signingKey = new LogSigningKey(settings.LoadSigner());
#pragma warning restore CA2000
        var nikHasher = settings.LoadNikHasher();
        var services = builder.Services;
        // The audit service is NOT_SERVING once the log is found damaged, whatever its database says.
        var database = services.AddModule<AuditDbContext>(host, Name, ApiDescriptors.Audit.FullName, serving: sp => !sp.GetRequiredService<LogIntegrity>().Damaged);
        services.AddSingleton(settings);
        // Handed over through factories, the keys are the container's to dispose; an instance handed over is never disposed.
        services.AddSingleton(_ => signingKey);
        services.AddSingleton(nikHasher);
#pragma warning disable CA2000
        var nikOpener = settings.LoadNikOpener();
#pragma warning restore CA2000
        services.AddSingleton(_ => nikOpener);
        services.AddSingleton<EventIntake>();
        services.AddSingleton<AppendSignal>();
        services.AddSingleton<SignedTreeSize>();
        services.AddSingleton(sp => new PendingEventWriter(database, sp.GetRequiredService<AppendSignal>()));
        services.AddScoped<TraceQuery>();
        services.AddScoped<LogReader>();
        services.AddScoped<LogProofs>();
        services.AddScoped<Cosignatures>();
        services.AddSingleton<LogIntegrity>();
        services.AddSingleton(_ => new PublishedHead(settings.PublishedHeadPath));
        services.AddSingleton(sp => new LogIntegrityCheck(database, signingKey, sp.GetRequiredService<PublishedHead>()));
        services.AddSingleton<IntegrityMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<IntegrityMonitor>());
        services.AddSingleton(sp => new LogAppender(
            database, settings, signingKey, sp.GetRequiredService<AppendSignal>(), sp.GetRequiredService<SignedTreeSize>(),
            sp.GetRequiredService<LogIntegrity>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LogAppender>>()));
        services.AddHostedService(sp => sp.GetRequiredService<LogAppender>());
        return builder;
    }

    public static WebApplication MapAudit(this WebApplication app)
    {
        app.MapGrpcService<AuditGrpcService>();
        return app;
    }
}
