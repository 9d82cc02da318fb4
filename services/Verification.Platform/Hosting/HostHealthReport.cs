using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Verification.Platform.Hosting;

/// <summary>
/// <c>GET /health</c>: the host's health checks (e.g. the members file) with their status and description, for operators.
/// gRPC health says only SERVING or not; a Degraded host still serves, so it answers 200 and says why in the body.
/// Anonymous like gRPC health: descriptions name states and positions, never secrets or personal data.
/// </summary>
public static class HostHealthReport
{
    public const string Path = "/health";

    public static void Map(WebApplication app) => app.MapHealthChecks(Path, new HealthCheckOptions { ResponseWriter = WriteAsync });

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(http.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, cancellationToken: http.RequestAborted);
    }
}
