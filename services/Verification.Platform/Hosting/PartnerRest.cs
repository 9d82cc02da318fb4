using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi.Models;
using Verification.Platform.Access;

namespace Verification.Platform.Hosting;

/// <summary>
/// The REST/JSON door for partners without gRPC: JSON transcoding of the methods the protos annotate with
/// <c>google.api.http</c> (same interceptors: authentication, roles, rate limits, errors as JSON <c>google.rpc.Status</c>),
/// and its OpenAPI document at <see cref="DocumentPath"/>, for signed-in members as reflection is.
/// </summary>
public static class PartnerRest
{
    public const string DocumentPath = "/openapi/v1.json";

    public static void AddOpenApi(IServiceCollection services)
    {
        services.AddGrpcSwagger();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Verification suite (BPJS Ketenagakerjaan)",
                Version = "v1",
                Description = "REST/JSON transcoding of the partner-facing gRPC methods. Authenticate with 'Authorization: Bearer <member token>' "
                    + "or a member client certificate. Errors are google.rpc.Status as JSON; invalid requests carry google.rpc.BadRequest field violations. "
                    + "Methods that stream answer newline-delimited JSON, one object per message. No NIK is ever part of a URL: methods that take one are POSTs.",
            });
            var comments = Path.Combine(AppContext.BaseDirectory, "Verification.Api.xml");
            if (File.Exists(comments)) swagger.IncludeGrpcXmlComments(comments, includeControllerXmlComments: true);
            swagger.AddSecurityDefinition("member-token", new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "The member's token." });
        });
    }

    public static void MapOpenApi(WebApplication app)
    {
        // Swagger's middleware only on its own path: every gRPC call would otherwise pass through it.
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/openapi", StringComparison.Ordinal), openApi =>
        {
            openApi.UseWhen(http => http.Request.Path.Equals(DocumentPath, StringComparison.Ordinal), document => document.Use(async (http, next) =>
            {
                if (SignedIn(http)) await next(http);
                else http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            }));
            openApi.UseSwagger(o => o.RouteTemplate = "openapi/{documentName}.json");
        });
    }

    /// <summary>Where the REST port listens (the second address Kestrel bound: it listens in the order configured), or null.</summary>
    public static Uri? RestAddress(IServiceProvider services)
    {
        if (services.GetRequiredService<VerificationHostContext>().Options.Listen.RestPort is null) return null;
        var addresses = services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        return addresses.Count < 2 ? null : new Uri(addresses[1].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
    }

    private static bool SignedIn(HttpContext http)
    {
        var members = http.RequestServices.GetRequiredService<MemberDirectory>();
        if (http.Connection.ClientCertificate is { } certificate && members.FindByCertificate(certificate) is not null) return true;
        string? authorization = http.Request.Headers.Authorization;
        return authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && members.FindByToken(authorization["Bearer ".Length..].Trim()) is not null;
    }
}
