using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Verification.Abuse.Tests;

/// <summary>
/// One HTTP/2 connection spoken frame by frame (h2c, prior knowledge), to send what well-behaved clients refuse to: header
/// blocks over the server's advertised SETTINGS_MAX_HEADER_LIST_SIZE, several calls on one connection, and to see exactly
/// which frames come back (RST_STREAM, GOAWAY and its error code, the end of the connection). Requests are HPACK literals
/// without indexing and without Huffman; the server is told SETTINGS_HEADER_TABLE_SIZE 0, so its answers use only the
/// static table.
/// </summary>
public sealed class Http2Wire : IAsyncDisposable
{
    public const byte DataFrame = 0, HeadersFrame = 1, RstStreamFrame = 3, SettingsFrame = 4, PingFrame = 6, GoAwayFrame = 7, ContinuationFrame = 9;
    public const byte EndStreamFlag = 1, EndHeadersFlag = 4, AckFlag = 1;

    /// <summary>HTTP/2 error codes (RFC 9113, 7).</summary>
    public const int ProtocolError = 1, InternalError = 2, RefusedStream = 7, CompressionError = 9;

    private const int MaxFrameSize = 16384;

    public sealed record Frame(byte Type, byte Flags, int StreamId, byte[] Payload);

    /// <summary>What came back on one stream: its header blocks decoded (response headers, then trailers), whether it ended and how.</summary>
    public sealed record StreamReply(IReadOnlyList<IReadOnlyDictionary<string, string>> HeaderBlocks, int DataBytes, bool Ended, int? ResetCode)
    {
        public string? Status => HeaderBlocks.Count > 0 ? HeaderBlocks[0].GetValueOrDefault(":status") : null;

        public string? GrpcStatus => HeaderBlocks.Select(b => b.GetValueOrDefault("grpc-status")).LastOrDefault(s => s is not null);

        public string? GrpcMessage => HeaderBlocks.Select(b => b.GetValueOrDefault("grpc-message")).LastOrDefault(s => s is not null);
    }

    private readonly Socket _socket;
    private readonly string _authority;
    private readonly List<Frame> _frames = [];
    private readonly SemaphoreSlim _changed = new(0);
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;
    private int _nextStreamId = 1;

    private Http2Wire(Socket socket, string authority)
    {
        _socket = socket;
        _authority = authority;
    }

    /// <summary>Whether the server's PINGs are acknowledged, as any live client does; false plays a peer that has gone silent.</summary>
    public bool AnswerPings { get; set; } = true;

    /// <summary>True once the server has closed the connection (end of stream or a reset socket).</summary>
    public bool Closed { get; private set; }

    public static async Task<Http2Wire> ConnectAsync(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var wire = new Http2Wire(socket, $"{address.Host}:{address.Port}");
        try
        {
            await socket.ConnectAsync(address.Host, address.Port);
            // Preface, then SETTINGS: HEADER_TABLE_SIZE 0 (no dynamic table in the server's answers), ENABLE_PUSH 0.
            byte[] settings = [0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0];
            await wire.SendRawAsync([.. Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), .. FrameBytes(SettingsFrame, 0, 0, settings)]);
            wire._reading = Task.Run(wire.ReadLoopAsync);
            if (!await wire.WaitAsync(f => f.Any(x => x.Type == SettingsFrame && (x.Flags & AckFlag) == 0), TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("The server sent no SETTINGS.");
            return wire;
        }
        catch
        {
            await wire.DisposeAsync();
            throw;
        }
    }

    /// <summary>The frames received so far.</summary>
    public IReadOnlyList<Frame> Frames
    {
        get
        {
            lock (_frames) return [.. _frames];
        }
    }

    public Frame? GoAway => Frames.FirstOrDefault(f => f.Type == GoAwayFrame);

    /// <summary>A GOAWAY's last stream id and error code.</summary>
    public static (int LastStreamId, int ErrorCode) Read(Frame goAway) =>
        ((int)(BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload) & 0x7FFFFFFF), (int)BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4)));

    /// <summary>
    /// Opens a gRPC call to <paramref name="path"/> with <paramref name="metadata"/> and sends <paramref name="message"/>
    /// (already length-prefixed), ending the request stream. Returns the stream id.
    /// </summary>
    public async Task<int> CallAsync(string path, byte[] message, IEnumerable<(string Name, string Value)>? metadata = null)
    {
        var streamId = _nextStreamId;
        _nextStreamId += 2;
        byte[] block = [.. RequestHeaders(path), .. HeaderBlock(metadata ?? [])];

        // One HEADERS, then CONTINUATION frames, each at most the default maximum frame size; the DATA frame follows the block.
        var frames = new List<byte>();
        for (var offset = 0; offset < block.Length; offset += MaxFrameSize)
        {
            var part = block.AsSpan(offset, Math.Min(MaxFrameSize, block.Length - offset)).ToArray();
            var last = offset + MaxFrameSize >= block.Length;
            frames.AddRange(FrameBytes(offset == 0 ? HeadersFrame : ContinuationFrame, last ? EndHeadersFlag : (byte)0, streamId, part));
        }
        frames.AddRange(FrameBytes(DataFrame, EndStreamFlag, streamId, message));
        await SendRawAsync([.. frames]);
        return streamId;
    }

    /// <summary>Sends one frame as given (for frames no client sends on purpose, e.g. a header block that never ends).</summary>
    public Task SendFrameAsync(byte type, byte flags, int streamId, byte[] payload) => SendRawAsync(FrameBytes(type, flags, streamId, payload));

    /// <summary>Request headers for a gRPC call on this connection, as an HPACK block.</summary>
    public byte[] RequestHeaders(string path) =>
        HeaderBlock([(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", _authority), ("content-type", "application/grpc"), ("te", "trailers")]);

    /// <summary>Waits until <paramref name="condition"/> holds over the frames received, or the connection closes, or the time runs out.</summary>
    public async Task<bool> WaitAsync(Func<IReadOnlyList<Frame>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (condition(Frames)) return true;
            if (Closed) return condition(Frames);
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _changed.WaitAsync(left)) return condition(Frames);
        }
    }

    /// <summary>Waits until the stream has ended (END_STREAM or RST_STREAM), the connection has closed, or the time runs out.</summary>
    public async Task<StreamReply> ReplyAsync(int streamId, TimeSpan timeout)
    {
        await WaitAsync(f => Reply(f, streamId).Ended, timeout);
        return Reply(Frames, streamId);
    }

    /// <summary>Waits until the server has ended the connection (read end or reset), or the time runs out.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        await WaitAsync(_ => Closed, timeout);
        return Closed;
    }

    public static StreamReply Reply(IReadOnlyList<Frame> frames, int streamId)
    {
        var blocks = new List<IReadOnlyDictionary<string, string>>();
        var pending = new List<byte>();
        var dataBytes = 0;
        var ended = false;
        int? reset = null;
        foreach (var frame in frames.Where(f => f.StreamId == streamId))
        {
            switch (frame.Type)
            {
                case HeadersFrame or ContinuationFrame:
                    pending.AddRange(HeadersPayload(frame));
                    if ((frame.Flags & EndHeadersFlag) != 0)
                    {
                        blocks.Add(Decode([.. pending]));
                        pending.Clear();
                    }
                    break;
                case DataFrame:
                    dataBytes += frame.Payload.Length;
                    break;
                case RstStreamFrame:
                    reset = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.Payload);
                    ended = true;
                    break;
            }
            if (frame.Type is HeadersFrame or DataFrame && (frame.Flags & EndStreamFlag) != 0) ended = true;
        }
        return new StreamReply(blocks, dataBytes, ended, reset);
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!await ReadExactlyAsync(header)) break;
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var payload = new byte[length];
                if (!await ReadExactlyAsync(payload)) break;
                var frame = new Frame(header[3], header[4], (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF), payload);
                lock (_frames) _frames.Add(frame);
                // Acknowledge the server's SETTINGS and PINGs, as any client must, so the connection stays healthy.
                if (frame.Type == SettingsFrame && (frame.Flags & AckFlag) == 0) await SendRawAsync(FrameBytes(SettingsFrame, AckFlag, 0, []));
                if (frame.Type == PingFrame && (frame.Flags & AckFlag) == 0 && AnswerPings) await SendRawAsync(FrameBytes(PingFrame, AckFlag, 0, payload));
                _changed.Release();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // A reset or our own disposal: the connection is over either way.
        }
        Closed = true;
        _changed.Release();
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = await _socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, _stop.Token);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    private async Task SendRawAsync(byte[] bytes)
    {
        await _writing.WaitAsync();
        try
        {
            for (var sent = 0; sent < bytes.Length;) sent += await _socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
        catch (SocketException)
        {
            // The server ended the connection while we were still sending (it stops reading at a connection error): what it
            // said before closing is in Frames, which is what the tests look at.
        }
        finally
        {
            _writing.Release();
        }
    }

    private static byte[] FrameBytes(byte type, byte flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>An HPACK block of literal fields without indexing, new names, no Huffman (RFC 7541, 6.2.2).</summary>
    public static byte[] HeaderBlock(IEnumerable<(string Name, string Value)> fields)
    {
        var block = new List<byte>();
        foreach (var (name, value) in fields)
        {
            block.Add(0);
            WriteString(block, name);
            WriteString(block, value);
        }
        return [.. block];
    }

    private static void WriteString(List<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        WriteInteger(block, 0, 7, bytes.Length);
        block.AddRange(bytes);
    }

    private static void WriteInteger(List<byte> block, byte high, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(high | value));
            return;
        }
        block.Add((byte)(high | max));
        for (value -= max; value >= 128; value >>= 7) block.Add((byte)((value & 0x7F) | 0x80));
        block.Add((byte)value);
    }

    /// <summary>A HEADERS frame's block fragment, without padding and priority.</summary>
    private static byte[] HeadersPayload(Frame frame)
    {
        if (frame.Type == ContinuationFrame) return frame.Payload;
        var start = 0;
        var end = frame.Payload.Length;
        if ((frame.Flags & 0x8) != 0) end -= frame.Payload[start++];
        if ((frame.Flags & 0x20) != 0) start += 5;
        return frame.Payload[start..end];
    }

    /// <summary>Decodes a server's header block; with a dynamic table of size 0 only static indexes and literals occur.</summary>
    public static Dictionary<string, string> Decode(byte[] block)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < block.Length;)
        {
            var b = block[i];
            if ((b & 0x80) != 0)
            {
                var (name, value) = StaticEntry(ReadInteger(block, ref i, 7));
                fields[name] = value;
            }
            else if ((b & 0xE0) == 0x20)
            {
                ReadInteger(block, ref i, 5); // dynamic table size update
            }
            else
            {
                var index = ReadInteger(block, ref i, (b & 0x40) != 0 ? 6 : 4);
                var name = index == 0 ? ReadString(block, ref i) : StaticEntry(index).Name;
                fields[name] = ReadString(block, ref i);
            }
        }
        return fields;
    }

    private static int ReadInteger(byte[] block, ref int i, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        var value = block[i++] & max;
        if (value < max) return value;
        for (var shift = 0; ; shift += 7)
        {
            var next = block[i++];
            value += (next & 0x7F) << shift;
            if ((next & 0x80) == 0) return value;
        }
    }

    private static string ReadString(byte[] block, ref int i)
    {
        if ((block[i] & 0x80) != 0) throw new NotSupportedException("The server Huffman-encoded a string; this client reads only plain literals.");
        var length = ReadInteger(block, ref i, 7);
        var text = Encoding.ASCII.GetString(block, i, length);
        i += length;
        return text;
    }

    private static (string Name, string Value) StaticEntry(int index) =>
        index >= 1 && index <= StaticTable.Length ? StaticTable[index - 1] : throw new NotSupportedException($"HPACK index {index} is not in the static table.");

    /// <summary>RFC 7541, Appendix A.</summary>
    private static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"), (":scheme", "http"),
        (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
        (":status", "404"), (":status", "500"), ("accept-charset", ""), ("accept-encoding", "gzip, deflate"), ("accept-language", ""),
        ("accept-ranges", ""), ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""),
        ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""), ("set-cookie", ""),
        ("strict-transport-security", ""), ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _reading;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
        _changed.Dispose();
        _writing.Dispose();
    }
}
