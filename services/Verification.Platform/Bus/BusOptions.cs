namespace Verification.Platform.Bus;

/// <summary>Which transport carries events between modules.</summary>
public enum BusTransport
{
    /// <summary>MassTransit's in-memory transport: monolithic mode, all modules in one process.</summary>
    InMemory,

    /// <summary>Durable RabbitMQ exchanges and queues: microservices mode.</summary>
    RabbitMq,
}

/// <summary>Bound from <c>Verification:Bus</c>.</summary>
public sealed class BusOptions
{
    public const string SectionName = "Verification:Bus";

    public BusTransport Transport { get; set; } = BusTransport.InMemory;

    public RabbitMqOptions RabbitMq { get; set; } = new();

    /// <summary>
    /// Declare the consumers' queues as RabbitMQ quorum queues (replicated over the cluster's nodes: a queue survives the
    /// loss of a minority of them). For a cluster of three or more; a classic queue of the same name must be removed first.
    /// </summary>
    public bool QuorumQueues { get; set; }

    /// <summary>Redeliveries in the consumer before a message goes to its <c>_error</c> queue.</summary>
    public int RetryLimit { get; set; } = 5;

    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(2);
}

public sealed class RabbitMqOptions
{
    public string Host { get; set; } = "localhost";

    public ushort Port { get; set; } = 5672;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "guest";

    public string Password { get; set; } = "guest";

    /// <summary>Reads <c>amqp://user:pass@host:port/vhost</c> (vhost URL-encoded, "/" when absent).</summary>
    public static RabbitMqOptions FromUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme is not ("amqp" or "rabbitmq"))
        {
            throw new ArgumentException($"Expected an amqp:// URI, got scheme '{uri.Scheme}'.", nameof(uri));
        }

        var credentials = uri.UserInfo.Split(':', 2);
        var path = uri.AbsolutePath.TrimStart('/');
        return new RabbitMqOptions
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? (ushort)5672 : (ushort)uri.Port,
            VirtualHost = path.Length == 0 ? "/" : Uri.UnescapeDataString(path),
            Username = credentials[0].Length > 0 ? Uri.UnescapeDataString(credentials[0]) : "guest",
            Password = credentials.Length > 1 ? Uri.UnescapeDataString(credentials[1]) : "guest",
        };
    }
}
