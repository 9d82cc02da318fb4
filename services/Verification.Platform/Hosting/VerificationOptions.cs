namespace Verification.Platform.Hosting;

/// <summary>Monolithic: every chosen module in one process on SQLite and the in-memory bus. Microservices: one module per process on PostgreSQL and RabbitMQ.</summary>
public enum HostingMode
{
    Monolithic,
    Microservices,
}

/// <summary>Bound from <c>Verification</c>; validated at start-up by <see cref="ConfigurationValidator"/>.</summary>
public sealed class VerificationOptions
{
    public const string SectionName = "Verification";

    public const int DefaultPort = 50051;

    public HostingMode Mode { get; set; } = HostingMode.Monolithic;

    /// <summary>Comma-separated module names, or "all".</summary>
    public string Services { get; set; } = "all";

    public ListenOptions Listen { get; set; } = new();

    /// <summary>Where the other modules answer, by module name (http:// for h2c, https:// for TLS); defaults to this host.</summary>
    public Dictionary<string, string> Endpoints { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How this host authenticates when it calls another module.</summary>
    public InternalCallerOptions Internal { get; set; } = new();

    /// <summary>How long graceful shutdown lets in-flight calls finish.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

public sealed class ListenOptions
{
    public string Address { get; set; } = "127.0.0.1";

    public int Port { get; set; } = VerificationOptions.DefaultPort;

    /// <summary>
    /// A second port for partners who call the REST/JSON door (HTTP/1.1, and HTTP/2 by ALPN under TLS) and read the OpenAPI
    /// document; null: none (under TLS the main port serves REST too).
    /// </summary>
    public int? RestPort { get; set; }

    /// <summary>PKCS#12 or PEM server certificate; when set, the endpoint is TLS (ALPN h2).</summary>
    public string? CertificatePath { get; set; }

    public string? CertificateKeyPath { get; set; }

    /// <summary>Require a client certificate (mutual TLS): members are then known by their certificate.</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>PEM of the CA that issues member certificates; client certificates must chain to it.</summary>
    public string? ClientCaPath { get; set; }
}

public sealed class InternalCallerOptions
{
    /// <summary>File holding the internal-service member's bearer token (monolithic mode creates one).</summary>
    public string? TokenFile { get; set; }

    /// <summary>Client certificate (PEM) and key presented to other modules in microservices mode.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificateKeyPath { get; set; }

    /// <summary>PEM of the CA that signs the modules' server certificates.</summary>
    public string? ServerCaPath { get; set; }

    /// <summary>Deadline of a call to another module when the incoming call has none.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromSeconds(10);
}
