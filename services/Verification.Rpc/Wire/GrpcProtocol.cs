namespace Verification.Rpc.Wire;

/// <summary>Names and constants of grpc's PROTOCOL-HTTP2.md.</summary>
public static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string StatusDetailsHeader = "grpc-status-details-bin";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";
    public const string Identity = "identity";
    public const string Gzip = "gzip";
    public const string SupportedEncodings = "identity,gzip";
    public const int HeaderSize = 5;
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>True for <c>application/grpc</c>, <c>application/grpc+proto</c> and either with parameters.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        // The exact form is what nearly every client sends: an ordinal comparison before the case-insensitive parse.
        if (string.Equals(contentType, ContentType, StringComparison.Ordinal)) return true;
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = contentType.AsSpan(ContentType.Length);
        if (rest.Length == 0 || rest[0] == ';') return true;
        return rest.StartsWith("+proto", StringComparison.OrdinalIgnoreCase) && (rest.Length == 6 || rest[6] == ';');
    }
}
