using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Verification.Api.Channels;

/// <summary>How a partner's (or a tool's) channel connects and what every call on it gets by default.</summary>
public sealed class ChannelSettings
{
    /// <summary>Deadline of a call that sets none.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Sent as <c>authorization: Bearer …</c> on every call (call credentials).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Client certificate for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Checks the server's certificate; null uses the system trust store.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>Retry idempotent unary calls that failed with UNAVAILABLE (the channel's service config, with backoff).</summary>
    public bool RetryUnavailable { get; set; } = true;

    /// <summary>Largest message accepted from the server; null is grpc's default (4 MiB).</summary>
    public int? MaxReceiveMessageSize { get; set; }

    /// <summary>Accept only server certificates issued by <paramref name="caFile"/> (a PEM or DER file) for the address's host name.</summary>
    public ChannelSettings TrustOnly(string caFile)
    {
        ServerCertificateValidation = CertificateAuthority.ServerValidation(X509CertificateLoader.LoadCertificateFromFile(caFile));
        return this;
    }
}
