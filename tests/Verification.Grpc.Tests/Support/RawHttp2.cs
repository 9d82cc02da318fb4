using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;

namespace Verification.Grpc.Tests.Support;

/// <summary>Hand-made (and malformed) gRPC requests over plain HTTP/2 (h2c, prior knowledge).</summary>
public static class RawHttp2
{
    public sealed record Reply(HttpStatusCode HttpStatus, string? GrpcStatus, string? GrpcMessage, byte[] Body, IReadOnlyDictionary<string, string> Headers, IReadOnlyDictionary<string, string> Trailers);

    /// <summary>A client on connections of its own; a request that hangs fails after <paramref name="timeout"/> instead of stalling the test.</summary>
    public static HttpClient NewClient(TimeSpan? timeout = null) => new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, UseProxy = false })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = timeout ?? TimeSpan.FromSeconds(60),
    };

    public static async Task<Reply> PostAsync(HttpClient client, string address, string path, byte[] body, string? contentType = "application/grpc", IEnumerable<(string Name, string Value)>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, address + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("content-type", contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var head = response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var tail = response.TrailingHeaders.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var status = head.GetValueOrDefault("grpc-status") ?? tail.GetValueOrDefault("grpc-status");
        var message = head.GetValueOrDefault("grpc-message") ?? tail.GetValueOrDefault("grpc-message");
        return new Reply(response.StatusCode, status, message, bytes, head, tail);
    }

    /// <summary>A length-prefixed message: flag byte, 4-byte big-endian length, payload.</summary>
    public static byte[] Frame(IMessage message, byte flag = 0) => Frame(message.ToByteArray(), flag);

    public static byte[] Frame(byte[] payload, byte flag = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }
}
