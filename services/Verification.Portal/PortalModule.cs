using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Verification.Api.Channels;
using Verification.Platform.Hosting;
using Verification.Portal.Calls;
using Verification.Portal.Sessions;
using Verification.Portal.Text;
using Verification.Portal.Uploads;
using Verification.Portal.Web;

namespace Verification.Portal;

/// <summary>
/// The partner portal: Razor Pages on a port of its own, calling the modules over gRPC as the signed-in member. It holds no
/// business rule and no data of its own beyond sessions and upload progress in memory.
/// </summary>
public static class PortalModule
{
    public const string Name = "portal";

    /// <summary>The modules whose gRPC services the pages call.</summary>
    public static readonly IReadOnlyList<string> Calls = ["membership", "kur", "prakerja", "nonasn", "audit"];

    public static readonly VerificationModule Module = new(Name, (builder, host) => builder.AddPortal(host), app => app.MapPortal(), Needs: Calls) { HasDatabase = false };

    internal const string SignInRateLimit = "portal-sign-in";

    public static WebApplicationBuilder AddPortal(this WebApplicationBuilder builder, VerificationHostContext host)
    {
        var settings = PortalSettings.Read(builder.Configuration, host.Options);
        var services = builder.Services;
        services.AddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);
        // Modules at dns:/// or a list of replicas are balanced over them, as between modules.
        services.AddModuleResolvers();
        services.AddHttpContextAccessor();
        services.AddSingleton<MemberSessions>();
        services.AddSingleton<MemberChannels>();
        services.AddSingleton<PortalDelegation>();
        services.AddSingleton<StaffUploads>();
        services.AddSingleton<BatchResultsFiles>();
        services.AddScoped<PortalText>();
        services.AddScoped(sp => sp.GetRequiredService<IHttpContextAccessor>().HttpContext!.Items[typeof(MemberCalls)] as MemberCalls
            ?? throw new InvalidOperationException("No member is signed in on this request."));
        services.AddRazorPages(pages =>
        {
            pages.RootDirectory = "/Pages";
            pages.Conventions.ConfigureFilter(new RpcProblemFilter());
            pages.Conventions.ConfigureFilter(new SignedInFilter());
        }).AddApplicationPart(typeof(PortalModule).Assembly);
        // Sessions live in memory, so keys that outlive the process would protect nothing more.
        services.AddDataProtection().UseEphemeralDataProtectionProvider().SetApplicationName("verification-portal");
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.HeaderName = PortalWeb.AntiforgeryHeader;
            antiforgery.FormFieldName = "__RequestVerificationToken";
            antiforgery.Cookie.Name = "verification-portal-af";
            antiforgery.Cookie.HttpOnly = true;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(SignInRateLimit, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = settings.SignInAttemptsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = settings.MaxUploadBytes);
        ListenForBrowsers(builder, host.Options.Listen, settings);
        return builder;
    }

    public static WebApplication MapPortal(this WebApplication app)
    {
        app.UseWhen(PortalWeb.IsPortalConnection, portal =>
        {
            portal.UseMiddleware<PortalSecurityHeaders>();
            portal.Use(PortalWeb.OnlyPortalEndpoints);
            portal.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new EmbeddedFileProvider(typeof(PortalModule).Assembly, "Verification.Portal.wwwroot"),
                RequestPath = "/static",
                OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "public, max-age=3600",
            });
            portal.UseMiddleware<PortalSessionMiddleware>();
            portal.UseRateLimiter();
        });
        app.UseWhen(http => !PortalWeb.IsPortalConnection(http), other => other.Use(PortalWeb.NoPortalEndpoints));
        app.MapRazorPages().WithMetadata(PortalEndpoint.Instance);
        PortalEndpoints.Map(app);
        return app;
    }

    private static void ListenForBrowsers(WebApplicationBuilder builder, Platform.Hosting.ListenOptions listen, PortalSettings settings)
    {
        X509Certificate2? certificate = null;
        if (listen.CertificatePath is { } path)
        {
#pragma warning disable CA2000 // Kestrel serves with it for the process's life.
            certificate = listen.CertificateKeyPath is { } key
                ? X509Certificate2.CreateFromPemFile(path, key)
                : X509CertificateLoader.LoadPkcs12FromFile(path, null);
#pragma warning restore CA2000
        }
        X509Certificate2? clientCa = listen.ClientCaPath is { } ca ? X509CertificateLoader.LoadCertificateFromFile(ca) : null;

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(listen.Address), settings.Port, endpoint =>
            {
                endpoint.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    endpoint.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        // A member may sign in with its client certificate only where the portal can call for it (delegation).
                        if (!settings.Delegates) return;
                        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        // Without a CA, members are pinned by thumbprint in the members file, as on the gRPC side.
                        https.ClientCertificateValidation = (presented, _, _) => clientCa is null || CertificateAuthority.Issued(clientCa, presented);
                    });
                }
                endpoint.Use(next => connection =>
                {
                    connection.Items[PortalWeb.ConnectionMarker] = true;
                    return next(connection);
                });
            });
        });
    }
}
