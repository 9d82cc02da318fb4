using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Verification.Portal.Web;

/// <summary>Marks the portal's endpoints, so they answer only on the portal's port and nothing else answers there.</summary>
public sealed class PortalEndpoint
{
    public static readonly PortalEndpoint Instance = new();
}

/// <summary>How a request is told to be the portal's, and the two gates that keep the portal and the gRPC ports apart.</summary>
public static class PortalWeb
{
    public const string ConnectionMarker = "verification.portal";

    public const string AntiforgeryHeader = "RequestVerificationToken";

    /// <summary>Requests without a file upload carry little: a form of a few fields.</summary>
    public const long MaxFormBytes = 64 * 1024;

    public static bool IsPortalConnection(HttpContext http) =>
        http.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionMarker) == true;

    /// <summary>On the portal's port: no gRPC or REST method, only pages and static files.</summary>
    public static async Task OnlyPortalEndpoints(HttpContext http, Func<Task> next)
    {
        var endpoint = http.GetEndpoint();
        if (endpoint is not null && endpoint.Metadata.GetMetadata<PortalEndpoint>() is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && endpoint?.Metadata.GetMetadata<UploadEndpoint>() is null)
            limit.MaxRequestBodySize = MaxFormBytes;
        await next();
    }

    /// <summary>On the gRPC and REST ports: no portal page.</summary>
    public static async Task NoPortalEndpoints(HttpContext http, Func<Task> next)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<PortalEndpoint>() is not null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await next();
    }
}

/// <summary>Marks an endpoint that takes a file: its body limit is the upload limit, set by the endpoint itself.</summary>
public sealed class UploadEndpoint
{
    public static readonly UploadEndpoint Instance = new();
}
