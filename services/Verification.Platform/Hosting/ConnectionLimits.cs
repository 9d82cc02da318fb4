using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Verification.Platform.Hosting;

/// <summary>
/// What a connection and a stream may hold of the host (section <c>Verification:Limits</c>): slow or idle connections are
/// closed, one address cannot take every connection, and a client stream that stops sending is ended.
/// </summary>
public sealed record ConnectionLimits
{
    public const string SectionName = "Verification:Limits";

    /// <summary>A connection must send its request headers (HTTP/2: its preface and each HEADERS) within this.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection with no call in flight is closed after this; in Kestrel it also bounds how long an HTTP/2 preface may take (measured).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>An HTTP/2 connection quiet for this long is pinged ...</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>... and closed when the ping is not answered within this.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Calls in flight on one HTTP/2 connection.</summary>
    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>Open connections from one client address (IPv4 address or IPv6 /64); more are closed at once.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 200;

    /// <summary>A client or bidirectional stream that sends no message for this long is ended DEADLINE_EXCEEDED.</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Request metadata (header names and values, plus 32 bytes each as HTTP/2 counts them) one call may send; more fails
    /// that call alone (RESOURCE_EXHAUSTED), the connection and its other calls go on.
    /// </summary>
    public int MaxRequestMetadataSize { get; init; } = 16 * 1024;

    /// <summary>
    /// What Kestrel accepts of one header block before closing the whole connection (HTTP/2 has no way to refuse a block
    /// it did not decode without losing HPACK state): kept well above <see cref="MaxRequestMetadataSize"/> so a call over
    /// that is answered per stream.
    /// </summary>
    public int MaxHeaderBlockSize { get; init; } = 128 * 1024;

    /// <summary>
    /// Header fields Kestrel takes in one request: as many as <see cref="MaxRequestMetadataSize"/> can hold at 32 bytes each,
    /// plus the pseudo-headers. Kestrel's default (100, with twice that closing the whole connection) refused metadata far
    /// under the size limit; a block with more fields is over the size limit anyway and Kestrel answers it 431 on its stream.
    /// </summary>
    public int MaxRequestHeaderCount => MaxRequestMetadataSize / 32 + 16;

    public static ConnectionLimits Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new ConnectionLimits();
        return new ConnectionLimits
        {
            RequestHeadersTimeout = Duration(section, nameof(RequestHeadersTimeout), defaults.RequestHeadersTimeout),
            KeepAliveTimeout = Duration(section, nameof(KeepAliveTimeout), defaults.KeepAliveTimeout),
            KeepAlivePingDelay = Duration(section, nameof(KeepAlivePingDelay), defaults.KeepAlivePingDelay),
            KeepAlivePingTimeout = Duration(section, nameof(KeepAlivePingTimeout), defaults.KeepAlivePingTimeout),
            MaxConcurrentStreams = Count(section, nameof(MaxConcurrentStreams), defaults.MaxConcurrentStreams),
            MaxConnectionsPerAddress = Count(section, nameof(MaxConnectionsPerAddress), defaults.MaxConnectionsPerAddress),
            StreamIdleTimeout = Duration(section, nameof(StreamIdleTimeout), defaults.StreamIdleTimeout),
            MaxRequestMetadataSize = Count(section, nameof(MaxRequestMetadataSize), defaults.MaxRequestMetadataSize),
            MaxHeaderBlockSize = Count(section, nameof(MaxHeaderBlockSize), defaults.MaxHeaderBlockSize),
        };
    }

    /// <summary>Applies the server-wide limits to Kestrel.</summary>
    public void Apply(KestrelServerOptions kestrel)
    {
        kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
        kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
        kestrel.Limits.Http2.KeepAlivePingDelay = KeepAlivePingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = KeepAlivePingTimeout;
        kestrel.Limits.Http2.MaxStreamsPerConnection = MaxConcurrentStreams;
        kestrel.Limits.MaxRequestHeadersTotalSize = Math.Max(MaxHeaderBlockSize, MaxRequestMetadataSize);
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = Math.Max(MaxHeaderBlockSize, MaxRequestMetadataSize);
        kestrel.Limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
    }

    private static TimeSpan Duration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        if (section[key] is not { } text) return fallback;
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero) return value;
        throw new ConfigurationError($"{SectionName}:{key}", "a positive duration (hh:mm:ss)", text);
    }

    private static int Count(IConfigurationSection section, string key, int fallback)
    {
        if (section[key] is not { } text) return fallback;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0) return value;
        throw new ConfigurationError($"{SectionName}:{key}", "a whole number, at least 1", text);
    }
}

/// <summary>Closes a connection at once when its address already holds <see cref="ConnectionLimits.MaxConnectionsPerAddress"/>.</summary>
public sealed class ConnectionsPerAddress(int limit)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        var key = Key(connection.RemoteEndPoint);
        if (_open.AddOrUpdate(key, 1, (_, n) => n + 1) > limit)
        {
            Release(key);
            connection.Abort(new ConnectionAbortedException("Too many connections from this address."));
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Release(key);
        }
    };

    private void Release(string key)
    {
        // Remove the entry at zero so addresses seen once do not accumulate.
        if (_open.AddOrUpdate(key, 0, (_, n) => n - 1) <= 0) _open.TryRemove(KeyValuePair.Create(key, 0));
    }

    private static string Key(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint { Address: var address }) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes).ToString();
    }
}
