using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Verification.Platform.Hosting;

namespace Verification.Platform.Rpc;

/// <summary>
/// Refuses a call whose request metadata is over <see cref="ConnectionLimits.MaxRequestMetadataSize"/> before any work: a
/// gRPC call gets a trailers-only RESOURCE_EXHAUSTED on its own stream, a REST call HTTP 431. Kestrel alone would close
/// the whole connection (every call on it) for a header block over its limit, so its limit is set higher and this one
/// answers per call.
/// </summary>
public static class RequestMetadataLimit
{
    /// <summary>What HTTP/2 adds to each header field's name and value when it counts a header list's size (RFC 9113, 6.5.2).</summary>
    private const int FieldOverhead = 32;

    // Not an async lambda: a call within the limit goes straight on, with no state machine of its own on every call's path.
    public static IApplicationBuilder UseRequestMetadataLimit(this IApplicationBuilder app, ConnectionLimits limits) =>
        app.Use((HttpContext context, RequestDelegate next) => Size(context.Request.Headers) <= limits.MaxRequestMetadataSize ? next(context) : RefuseAsync(context, limits));

    private static long Size(IHeaderDictionary headers)
    {
        var size = 0L;
        foreach (var (name, values) in headers)
            foreach (var value in values) size += name.Length + (value?.Length ?? 0) + FieldOverhead;
        return size;
    }

    private static Task RefuseAsync(HttpContext context, ConnectionLimits limits)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // Trailers-only: the status in the one HEADERS frame that ends the stream.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "8";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(Message(limits));
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status431RequestHeaderFieldsTooLarge;
        return context.Response.WriteAsync(Message(limits), context.RequestAborted);
    }

    public static string Message(ConnectionLimits limits) =>
        $"The request metadata is larger than {limits.MaxRequestMetadataSize} bytes; nothing was done. Send less metadata.";
}
