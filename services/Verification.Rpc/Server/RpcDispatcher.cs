using Microsoft.AspNetCore.Http;
using Verification.Rpc.Wire;

namespace Verification.Rpc.Server;

/// <summary>
/// The gRPC entry point in the ASP.NET Core pipeline: finds the method by path in a frozen table and
/// answers protocol errors (415, UNIMPLEMENTED, HTTP/2 required) before any handler runs.
/// </summary>
internal sealed class RpcDispatcher
{
    private readonly RequestDelegate _next;
    private readonly RpcServiceRegistry _registry;

    public RpcDispatcher(RequestDelegate next, RpcServiceRegistry registry)
    {
        _next = next;
        _registry = registry;
        registry.Freeze();
    }

    public Task InvokeAsync(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "";
        var isGrpc = GrpcProtocol.IsGrpcContentType(http.Request.ContentType);
        if (!_registry.TryGetMethod(path, out var method))
        {
            if (!isGrpc) return _next(http);
            return RejectAsync(http, 200, UnknownMethodStatus(path));
        }
        if (!HttpMethods.IsPost(http.Request.Method))
            return RejectAsync(http, StatusCodes.Status405MethodNotAllowed, new Status(StatusCode.Internal, "gRPC requires POST."));
        if (!isGrpc)
            return RejectAsync(http, StatusCodes.Status415UnsupportedMediaType, new Status(StatusCode.Internal, $"Content-Type '{http.Request.ContentType}' is not supported; gRPC requires application/grpc."));
        if (!HttpProtocol.IsHttp2(http.Request.Protocol))
            return RejectAsync(http, StatusCodes.Status426UpgradeRequired, new Status(StatusCode.Internal, "gRPC requires HTTP/2."));
        return method.HandleAsync(http);
    }

    private Status UnknownMethodStatus(string path)
    {
        var slash = path.LastIndexOf('/');
        var service = slash > 0 ? path[1..slash] : "";
        return _registry.HasService(service)
            ? new Status(StatusCode.Unimplemented, "Method is unimplemented.")
            : new Status(StatusCode.Unimplemented, "Service is unimplemented.");
    }

    private static Task RejectAsync(HttpContext http, int httpStatus, Status status)
    {
        http.Response.StatusCode = httpStatus;
        http.Response.ContentType = GrpcProtocol.ContentType;
        http.Response.Headers[GrpcProtocol.StatusHeader] = ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers[GrpcProtocol.MessageHeader] = StatusMessageEncoding.Encode(status.Detail);
        return Task.CompletedTask;
    }
}
