using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Verification.Rpc.Client;

/// <summary>How a channel connects and what every call on it gets by default.</summary>
public sealed class RpcChannelOptions
{
    /// <summary>Deadline of a call that sets none (and is not made inside an incoming call with a shorter one).</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxReceiveMessageSize { get; set; } = Wire.GrpcProtocol.DefaultMaxMessageSize;

    public int MaxSendMessageSize { get; set; } = Wire.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Client certificate for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Checks the server's certificate; null uses the system trust store.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Sent as <c>authorization: Bearer …</c> on every call.</summary>
    public string? BearerToken { get; set; }

    /// <summary>Compress request messages ("gzip"); null sends identity.</summary>
    public string? RequestCompression { get; set; }

    /// <summary>Retries of idempotent unary calls that failed with UNAVAILABLE.</summary>
    public RetryPolicy Retry { get; set; } = RetryPolicy.Default;

    /// <summary>A handler to use instead of a new <see cref="SocketsHttpHandler"/> (the channel does not dispose it).</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    public string UserAgent { get; set; } = "verification-rpc/1.0";
}

/// <summary>Exponential backoff with full jitter, bounded by attempts and by the call's deadline.</summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff, double Multiplier)
{
    public static readonly RetryPolicy Default = new(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), 2.0);

    public static readonly RetryPolicy None = new(1, TimeSpan.Zero, TimeSpan.Zero, 1.0);

    /// <summary>The wait before attempt <paramref name="attempt"/> (2 = first retry).</summary>
    public TimeSpan BackoffBefore(int attempt)
    {
        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, InitialBackoff.TotalMilliseconds * Math.Pow(Multiplier, attempt - 2));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }
}

public static class RpcChannelOptionsExtensions
{
    /// <summary>Accept only server certificates issued by <paramref name="ca"/> (a PEM or DER file).</summary>
    public static RpcChannelOptions TrustOnly(this RpcChannelOptions options, string caFile)
    {
        var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(caFile);
        options.ServerCertificateValidation = (_, presented, _, _) => presented is not null && CertificateAuthority.Issued(ca, presented);
        return options;
    }
}
