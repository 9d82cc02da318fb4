namespace Verification.Rpc.Server;

/// <summary>Server-wide limits and behaviour.</summary>
public sealed class RpcServerOptions
{
    /// <summary>Largest message accepted from a caller (after decompression); larger → RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = Wire.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Largest message a handler may send; larger → RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; set; } = Wire.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Compress responses with this algorithm ("gzip") when the caller accepts it; null sends identity.</summary>
    public string? ResponseCompression { get; set; }
}
