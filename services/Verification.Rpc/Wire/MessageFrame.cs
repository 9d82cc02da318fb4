using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;

namespace Verification.Rpc.Wire;

/// <summary>The 5-byte length-prefixed message: compressed flag (0 or 1), big-endian length, payload.</summary>
public static class MessageFrame
{
    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. False when the buffer holds only part of one.
    /// Throws <see cref="RpcException"/> for a frame that can never be valid: an unknown flag, or a length over the limit.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out bool compressed, out ReadOnlySequence<byte> payload)
    {
        compressed = false;
        payload = default;
        if (buffer.Length < GrpcProtocol.HeaderSize) return false;
        Span<byte> header = stackalloc byte[GrpcProtocol.HeaderSize];
        buffer.Slice(0, GrpcProtocol.HeaderSize).CopyTo(header);
        compressed = header[0] switch
        {
            0 => false,
            1 => true,
            _ => throw new RpcException(StatusCode.Internal, $"Invalid compressed flag {header[0]} in message prefix."),
        };
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxMessageSize})");
        if (buffer.Length < GrpcProtocol.HeaderSize + length) return false;
        payload = buffer.Slice(GrpcProtocol.HeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Writes a message frame, compressing with gzip when asked.</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message, int maxMessageSize, bool compress)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {maxMessageSize})");
        if (!compress)
        {
            var span = writer.GetSpan(GrpcProtocol.HeaderSize + size);
            span[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
            message.WriteTo(span.Slice(GrpcProtocol.HeaderSize, size));
            writer.Advance(GrpcProtocol.HeaderSize + size);
            return;
        }
        var compressed = Gzip(message.ToByteArray());
        var target = writer.GetSpan(GrpcProtocol.HeaderSize + compressed.Length);
        target[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(target[1..], (uint)compressed.Length);
        compressed.CopyTo(target[GrpcProtocol.HeaderSize..]);
        writer.Advance(GrpcProtocol.HeaderSize + compressed.Length);
    }

    /// <summary>Parses a payload, decompressing it first if its flag says so.</summary>
    public static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload, bool compressed, string? encoding, int maxMessageSize) where T : IMessage<T>
    {
        if (compressed)
        {
            if (encoding is null || encoding == GrpcProtocol.Identity)
                throw new RpcException(StatusCode.Internal, "Compressed message received without a grpc-encoding.");
            var bytes = Gunzip(payload, maxMessageSize);
            return ParseOrThrow(parser, new ReadOnlySequence<byte>(bytes));
        }
        return ParseOrThrow(parser, payload);
    }

    private static T ParseOrThrow<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(StatusCode.Internal, "Failed to deserialize the message.");
        }
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    /// <summary>Decompresses with the size limit enforced while inflating, so a small bomb cannot exhaust memory.</summary>
    public static byte[] Gunzip(ReadOnlySequence<byte> payload, int maxMessageSize)
    {
        // A gzip member is at least a 10-byte header and an 8-byte trailer; zlib stops silently on a truncated one.
        if (payload.Length < 18) throw new RpcException(StatusCode.Internal, "Failed to decompress the message: truncated gzip data.");
        try
        {
            var compressed = payload.ToArray();
            using var input = new MemoryStream(compressed);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = gzip.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (output.Length + read > maxMessageSize)
                    throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max after decompression (limit {maxMessageSize}).");
                output.Write(chunk, 0, read);
            }
            // ISIZE, the last four bytes, is the uncompressed length mod 2^32: a cut-off stream cannot match it.
            var declared = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4));
            if (declared != (uint)output.Length)
                throw new RpcException(StatusCode.Internal, "Failed to decompress the message: truncated gzip data.");
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            throw new RpcException(StatusCode.Internal, "Failed to decompress the message: corrupt gzip data.");
        }
    }
}
