using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Testing;
using Verification.Rpc.Wire;

namespace Verification.Rpc.Tests;

public class GrpcTimeoutTests
{
    [Theory]
    [InlineData("2H", 2 * 3600 * 10_000_000L)]
    [InlineData("3M", 3 * 60 * 10_000_000L)]
    [InlineData("5S", 5 * 10_000_000L)]
    [InlineData("250m", 250 * 10_000L)]
    [InlineData("1500u", 15_000L)]
    [InlineData("99999999n", 1_000_000L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("0m", 0L)]
    public void ParsesEveryUnit(string text, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(text, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10X")]
    [InlineData("123456789S")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    [InlineData("١S")]
    public void RejectsMalformedTimeouts(string text) => Assert.False(GrpcTimeout.TryParse(text, out _));

    [Theory]
    [InlineData(1L, "100n")]
    [InlineData(999_999L, "99999900n")]
    [InlineData(1_000_000L, "100000u")]
    [InlineData(10_000L * 150_000, "150000m")]
    [InlineData(10_000_000L * 200_000, "200000S")]
    public void FormatsWithTheFinestUnitThatFits(long ticks, string expected) =>
        Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void FormattedTimeoutsAreNeverShorterThanTheDeadlineAndAtMostEightDigits()
    {
        var random = new Random(42);
        for (var i = 0; i < 10_000; i++)
        {
            var ticks = (long)(Math.Pow(10, random.NextDouble() * 15));
            var text = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
            Assert.True(text.Length <= 9, text);
            Assert.True(GrpcTimeout.TryParse(text, out var parsed), text);
            Assert.True(parsed.Ticks >= ticks, $"{ticks} formatted as {text}");
        }
    }

    [Fact]
    public void ZeroOrNegativeTimeoutsFormatAsAlreadyExpired() => Assert.Equal("1n", GrpcTimeout.Format(TimeSpan.FromSeconds(-1)));
}

public class StatusMessageEncodingTests
{
    [Fact]
    public void PlainAsciiIsSentAsIs() => Assert.Equal("test status message", StatusMessageEncoding.Encode("test status message"));

    [Fact]
    public void PercentAndNonPrintableBytesArePercentEncodedAsUtf8()
    {
        Assert.Equal("100%25 ok%0A", StatusMessageEncoding.Encode("100% ok\n"));
        Assert.Equal("caf%C3%A9 %F0%9F%98%88", StatusMessageEncoding.Encode("café 😈"));
    }

    [Fact]
    public void RoundTripsTheSpecialInteropMessage()
    {
        const string message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
        var encoded = StatusMessageEncoding.Encode(message);
        Assert.All(encoded, c => Assert.InRange(c, (char)0x20, (char)0x7E));
        Assert.Equal(message, StatusMessageEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("50%", "50%")]
    [InlineData("%zz and %4", "%zz and %4")]
    [InlineData("%41%42c", "ABc")]
    [InlineData("%e2%98%BA", "☺")]
    [InlineData("%FF", "\uFFFD")]
    public void DecodesLeniently(string encoded, string expected) => Assert.Equal(expected, StatusMessageEncoding.Decode(encoded));
}

public class BinaryHeaderEncodingTests
{
    [Fact]
    public void SendsBase64WithoutPadding()
    {
        Assert.Equal("q6ur", BinaryHeaderEncoding.Encode([0xab, 0xab, 0xab]));
        Assert.Equal("AQ", BinaryHeaderEncoding.Encode([0x01]));
        Assert.Equal("AQI", BinaryHeaderEncoding.Encode([0x01, 0x02]));
    }

    [Theory]
    [InlineData("AQ")]
    [InlineData("AQ==")]
    public void AcceptsPaddedAndUnpadded(string text)
    {
        Assert.True(BinaryHeaderEncoding.TryDecode(text, out var bytes));
        Assert.Equal(new byte[] { 0x01 }, bytes);
    }

    [Theory]
    [InlineData("A")]
    [InlineData("!!!!")]
    public void RejectsInvalidBase64(string text) => Assert.False(BinaryHeaderEncoding.TryDecode(text, out _));
}

public class MessageFrameTests
{
    private static byte[] Frame(IMessage message, bool compress = false)
    {
        var writer = new ArrayBufferWriter<byte>();
        MessageFrame.Write(writer, message, int.MaxValue, compress);
        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void WritesTheFiveBytePrefix()
    {
        var message = new Payload { Body = ByteString.CopyFrom(new byte[300]) };
        var frame = Frame(message);
        Assert.Equal(0, frame[0]);
        Assert.Equal(message.CalculateSize(), (frame[1] << 24) | (frame[2] << 16) | (frame[3] << 8) | frame[4]);
        Assert.Equal(message.ToByteArray(), frame[5..]);
    }

    [Fact]
    public void ReadsSeveralFramesFromOneBufferAndZeroLengthMessages()
    {
        var bytes = Frame(new Empty()).Concat(Frame(new Payload { Body = ByteString.CopyFromUtf8("abc") })).Concat(Frame(new Empty())).ToArray();
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0 }, bytes[..5]);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var lengths = new List<long>();
        while (MessageFrame.TryRead(ref buffer, 1024, out var compressed, out var payload))
        {
            Assert.False(compressed);
            lengths.Add(payload.Length);
        }
        Assert.Equal(new long[] { 0, 5, 0 }, lengths);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void AFrameSplitAcrossArbitrarySegmentsIsReadOnlyWhenComplete()
    {
        var message = new Payload { Body = ByteString.CopyFrom(Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray()) };
        var bytes = Frame(message);
        for (var cut = 0; cut < bytes.Length; cut += 37)
        {
            var partial = new ReadOnlySequence<byte>(bytes[..cut]);
            Assert.False(MessageFrame.TryRead(ref partial, 4096, out _, out _));
        }
        var segmented = Segments(bytes, 3);
        Assert.True(MessageFrame.TryRead(ref segmented, 4096, out _, out var payload));
        Assert.Equal(message, Payload.Parser.ParseFrom(payload));
    }

    [Fact]
    public void ALengthOverTheLimitIsResourceExhaustedBeforeTheBodyArrives()
    {
        var header = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0x10, 0, 1 });
        var ex = Assert.Throws<RpcException>(() => MessageFrame.TryRead(ref header, 1 << 20, out _, out _));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public void AnUnknownCompressedFlagIsInternal()
    {
        var header = new ReadOnlySequence<byte>(new byte[] { 2, 0, 0, 0, 0 });
        Assert.Equal(StatusCode.Internal, Assert.Throws<RpcException>(() => MessageFrame.TryRead(ref header, 10, out _, out _)).StatusCode);
    }

    [Fact]
    public void CompressedFramesRoundTripAndNeedAnEncoding()
    {
        var message = new Payload { Body = ByteString.CopyFrom(new byte[10_000]) };
        var bytes = Frame(message, compress: true);
        Assert.Equal(1, bytes[0]);
        Assert.True(bytes.Length < 200);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(MessageFrame.TryRead(ref buffer, 1 << 20, out var compressed, out var payload));
        Assert.True(compressed);
        Assert.Equal(message, MessageFrame.Parse(Payload.Parser, payload, compressed, "gzip", 1 << 20));
        Assert.Equal(StatusCode.Internal, Assert.Throws<RpcException>(() => MessageFrame.Parse(Payload.Parser, payload, compressed, null, 1 << 20)).StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, Assert.Throws<RpcException>(() => MessageFrame.Parse(Payload.Parser, payload, compressed, "gzip", 1000)).StatusCode);
    }

    [Fact]
    public void CorruptCompressedDataIsInternal()
    {
        var garbage = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("this is not gzip at all"));
        Assert.Equal(StatusCode.Internal, Assert.Throws<RpcException>(() => MessageFrame.Parse(Payload.Parser, garbage, true, "gzip", 1 << 20)).StatusCode);
    }

    [Fact]
    public void SendingAMessageOverTheLimitIsResourceExhausted()
    {
        var writer = new ArrayBufferWriter<byte>();
        var ex = Assert.Throws<RpcException>(() => MessageFrame.Write(writer, new Payload { Body = ByteString.CopyFrom(new byte[100]) }, 50, false));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal(0, writer.WrittenCount);
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var i = 0; i < bytes.Length; i += size)
        {
            var memory = bytes.AsMemory(i, Math.Min(size, bytes.Length - i));
            if (first is null) first = last = new Segment(memory, 0);
            else last = last!.Append(memory);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

public class StatusMappingTests
{
    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    [InlineData(415, StatusCode.Unknown)]
    public void MapsHttpStatusesAsTheSpecSays(int http, StatusCode expected) => Assert.Equal(expected, HttpStatusMapping.FromHttpStatus(http));

    [Fact]
    public void StatusCodeNumbersAreTheWireValues()
    {
        Assert.Equal(16, (int)StatusCode.Unauthenticated);
        Assert.Equal(Enum.GetValues<Google.Rpc.Code>().Select(c => (int)c).Order(), Enum.GetValues<StatusCode>().Select(c => (int)c).Order());
    }
}

public class MetadataTests
{
    [Theory]
    [InlineData("grpc-status")]
    [InlineData("grpc-custom")]
    [InlineData(":path")]
    [InlineData("content-type")]
    [InlineData("te")]
    public void ReservedNamesAreRefused(string key) => Assert.Throws<ArgumentException>(() => new Metadata { { key, "x" } });

    [Theory]
    [InlineData("bad key")]
    [InlineData("ключ")]
    [InlineData("")]
    public void InvalidKeysAreRefused(string key) => Assert.ThrowsAny<ArgumentException>(() => new Metadata { { key, "x" } });

    [Fact]
    public void KeysAreLowerCasedAndBinaryKeysNeedTheSuffix()
    {
        var metadata = new Metadata { { "X-Trace", "a" }, { "blob-bin", new byte[] { 1 } } };
        Assert.Equal("x-trace", metadata[0].Key);
        Assert.True(metadata[1].IsBinary);
        Assert.Throws<ArgumentException>(() => new Metadata { { "blob", new byte[] { 1 } } });
        Assert.Throws<ArgumentException>(() => new Metadata { { "text-bin", "x" } });
        Assert.Throws<ArgumentException>(() => new Metadata { { "text", "line\nbreak" } });
    }
}
