namespace Verification.Rpc.Wire;

/// <summary>grpc doc/http-grpc-status-mapping.md: the status a client infers when a response has no grpc-status.</summary>
public static class HttpStatusMapping
{
    public static StatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
