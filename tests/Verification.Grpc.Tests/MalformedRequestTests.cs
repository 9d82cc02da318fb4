using System.Collections.Concurrent;
using System.Net;
using Grpc.Testing;
using Verification.Grpc.Tests.Support;
using Xunit.Abstractions;

namespace Verification.Grpc.Tests;

/// <summary>Malformed requests to the real host each get a gRPC status or an HTTP error, and the host keeps serving.</summary>
public class MalformedRequestTests(WireHostFixture fixture, ITestOutputHelper output) : IClassFixture<WireHostFixture>
{
    private const string UnaryPath = "/grpc.testing.TestService/UnaryCall";
    private WireHost Host => fixture.Host;

    /// <summary>What is wrong, the body, one extra header (or none), the content type.</summary>
    public static TheoryData<string, byte[], string[], string?> MalformedRequests => new()
    {
        { "truncated frame prefix", [0, 0, 0], [], "application/grpc" },
        { "declared length beyond the body", [0, 0, 0, 0, 50, 1, 2, 3], [], "application/grpc" },
        { "declared length beyond the receive limit", [0, 0x7f, 0xff, 0xff, 0xff], [], "application/grpc" },
        { "compressed flag without grpc-encoding", RawHttp2.Frame(new SimpleRequest(), 1), [], "application/grpc" },
        { "unknown flag byte", RawHttp2.Frame(new SimpleRequest(), 7), [], "application/grpc" },
        { "garbage protobuf", RawHttp2.Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), [], "application/grpc" },
        { "empty body", [], [], "application/grpc" },
        { "two messages for a unary method", [.. RawHttp2.Frame(new SimpleRequest()), .. RawHttp2.Frame(new SimpleRequest())], [], "application/grpc" },
        { "compressed with an encoding the server lacks", RawHttp2.Frame(new SimpleRequest(), 1), ["grpc-encoding", "br"], "application/grpc" },
        { "corrupt gzip", RawHttp2.Frame([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff], 1), ["grpc-encoding", "gzip"], "application/grpc" },
        { "grpc-timeout without a unit", RawHttp2.Frame(new SimpleRequest()), ["grpc-timeout", "100"], "application/grpc" },
        { "grpc-timeout of ten digits", RawHttp2.Frame(new SimpleRequest()), ["grpc-timeout", "1000000000S"], "application/grpc" },
        { "grpc-timeout that is not a number", RawHttp2.Frame(new SimpleRequest()), ["grpc-timeout", "soon"], "application/grpc" },
        { "JSON content type", RawHttp2.Frame(new SimpleRequest()), [], "application/json" },
        { "no content type", RawHttp2.Frame(new SimpleRequest()), [], null },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task EachMalformedRequestGetsAnErrorStatusAndTheHostKeepsServing(string what, byte[] body, string[] header, string? contentType)
    {
        using var client = RawHttp2.NewClient();
        (string, string)[] headers = [("authorization", "Bearer " + Host.Token("bank-bri")), .. header.Length == 2 ? [(header[0], header[1])] : Array.Empty<(string, string)>()];
        var reply = await RawHttp2.PostAsync(client, Host.Address, UnaryPath, body, contentType, headers);
        output.WriteLine($"{what}: HTTP {(int)reply.HttpStatus}, grpc-status {reply.GrpcStatus} {reply.GrpcMessage}");
        if (what.Contains("grpc-timeout", StringComparison.Ordinal))
        {
            // A well-formed request with a timeout the server cannot read: any gRPC answer, as long as there is one.
            Assert.True(reply.GrpcStatus is not null, $"{what}: no grpc-status (HTTP {(int)reply.HttpStatus})");
        }
        else
        {
            Assert.True(reply.GrpcStatus is not null and not "0" || (int)reply.HttpStatus >= 400,
                $"{what}: expected an error status, got HTTP {(int)reply.HttpStatus}, grpc-status {reply.GrpcStatus} {reply.GrpcMessage}");
        }
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task AFloodOfRandomMalformedRequestsEachGetsAnAnswerAndTheHostKeepsServing()
    {
        const int total = 5000;
        // Kestrel resets a stream it answered before the request body ended and, past 200 such streams on one connection
        // within 5 s, refuses new ones with ENHANCE_YOUR_CALM (its rapid-reset defence): the flood moves to a new connection
        // every 100 requests, since the host's answers are under test here, not Kestrel's flood limit.
        const int requestsPerConnection = 100;
        var random = new Random(20261206);
        var templates = MalformedRequests.Select(row => (byte[])row[1]).ToArray();
        string[] paths =
        [
            UnaryPath, "/grpc.testing.TestService/StreamingInputCall", "/grpc.testing.TestService/FullDuplexCall",
            "/grpc.testing.TestService/StreamingOutputCall", "/grpc.testing.TestService/HalfDuplexCall", "/grpc.testing.TestService/NoSuchMethod",
            "/grpc.testing.TestService/", "/no.such.Service/Call",
        ];
        (string, string)[][] extraHeaders =
        [
            [], [("grpc-timeout", "1m")], [("grpc-timeout", "xyz")], [("grpc-timeout", "99999999999S")], [("grpc-encoding", "gzip")],
            [("grpc-encoding", "zstd")], [("x-grpc-test-echo-trailing-bin", "%%%")], [("grpc-accept-encoding", "gzip")],
        ];
        string?[] contentTypes = ["application/grpc", "application/grpc", "application/grpc", "application/grpc+proto", "application/json", "text/plain", null];
        var bearer = ("authorization", "Bearer " + Host.Token("bank-bri"));

        var requests = Enumerable.Range(0, total).Select(i =>
        {
            var body = random.Next(3) switch
            {
                0 => Mutate(templates[random.Next(templates.Length)], random),
                1 => RandomBytes(random, random.Next(0, 64)),
                _ => Mutate(RawHttp2.Frame(new SimpleRequest { ResponseSize = random.Next(0, 100) }), random),
            };
            (string, string)[] headers = [.. extraHeaders[random.Next(extraHeaders.Length)], .. i % 2 == 0 ? [bearer] : Array.Empty<(string, string)>()];
            return (Path: paths[random.Next(paths.Length)], Body: body, Headers: headers, ContentType: contentTypes[random.Next(contentTypes.Length)]);
        }).ToArray();

        var clients = Enumerable.Range(0, total / requestsPerConnection).Select(_ => RawHttp2.NewClient()).ToArray();
        var answers = new ConcurrentDictionary<string, int>();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var (path, body, headers, contentType) = requests[i];
                RawHttp2.Reply reply;
                try
                {
                    reply = await RawHttp2.PostAsync(clients[i / requestsPerConnection], Host.Address, path, body, contentType, headers);
                }
                catch (HttpRequestException ex) when (ex.InnerException is HttpProtocolException { ErrorCode: 0x8 } && headers.Contains(("grpc-timeout", "1m")))
                {
                    // A 1 ms deadline that expires before the answer starts (a busy machine) ends the stream with
                    // RST_STREAM CANCEL, as the gRPC protocol allows: an answer too, and the host must keep serving.
                    answers.AddOrUpdate("RST_STREAM CANCEL (1 ms deadline)", 1, (_, n) => n + 1);
                    return;
                }

                if (reply.GrpcStatus is null && (int)reply.HttpStatus < 400)
                    throw new Xunit.Sdk.XunitException($"request {i} to {path} got HTTP {(int)reply.HttpStatus} without a grpc-status");
                var answer = $"HTTP {(int)reply.HttpStatus} grpc-status {reply.GrpcStatus ?? "none"}";
                answers.AddOrUpdate(answer, 1, (_, n) => n + 1);
            });
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }

        output.WriteLine(string.Join(Environment.NewLine, answers.OrderBy(a => a.Key).Select(a => $"{a.Key}: {a.Value}")));
        Assert.Equal(total, answers.Values.Sum());
        Assert.True(answers.Count >= 4, "expected a spread of answers: " + string.Join(", ", answers));
        Assert.True(answers.Keys.Any(a => a.StartsWith("HTTP 415", StringComparison.Ordinal)), "wrong content types should be refused with 415: " + string.Join(", ", answers));
        await AssertStillServingAsync();
    }

    private async Task AssertStillServingAsync()
    {
        using var channel = Host.Channel("bank-bri");
        var response = await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest { ResponseSize = 3 });
        Assert.Equal(3, response.Payload.Body.Length);
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = source.ToArray();
        if (bytes.Length == 0) return RandomBytes(random, 5);
        switch (random.Next(4))
        {
            case 0:
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 1:
                return bytes[..random.Next(bytes.Length)];
            case 2:
                return [.. bytes, .. RandomBytes(random, random.Next(1, 10))];
            default:
                bytes[0] = (byte)random.Next(3);
                return bytes;
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
