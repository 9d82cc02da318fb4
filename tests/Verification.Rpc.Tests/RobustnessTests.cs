using Grpc.Testing;
using Verification.Rpc.InteropServer;

namespace Verification.Rpc.Tests;

public class RobustnessTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;
    private const string UnaryPath = "/grpc.testing.TestService/UnaryCall";

    public static TheoryData<string, byte[], string[], string> MalformedRequests => new()
    {
        { "truncated prefix", [0, 0, 0], [], "13" },
        { "declared length beyond the body", [0, 0, 0, 0, 50, 1, 2, 3], [], "13" },
        { "declared length beyond the limit", [0, 0x7f, 0xff, 0xff, 0xff], [], "8" },
        { "compressed flag without grpc-encoding", RawHttp2.Frame(new SimpleRequest(), 1), [], "13" },
        { "unknown compressed flag", RawHttp2.Frame(new SimpleRequest(), 7), [], "13" },
        { "garbage protobuf", RawHttp2.Frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), [], "13" },
        { "empty body", [], [], "13" },
        { "two messages for a unary method", [.. RawHttp2.Frame(new SimpleRequest()), .. RawHttp2.Frame(new SimpleRequest())], [], "13" },
        { "grpc-timeout without unit", RawHttp2.Frame(new SimpleRequest()), ["grpc-timeout", "100"], "13" },
        { "grpc-timeout too long", RawHttp2.Frame(new SimpleRequest()), ["grpc-timeout", "1000000000S"], "13" },
        { "unknown grpc-encoding", RawHttp2.Frame(new SimpleRequest()), ["grpc-encoding", "br"], "12" },
        { "corrupt gzip", RawHttp2.Frame([0x1f, 0x8b, 8, 0, 0, 0], 1), ["grpc-encoding", "gzip"], "13" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task MalformedRequestsGetTheirProperStatus(string what, byte[] body, string[] header, string expectedStatus)
    {
        var headers = header.Length == 2 ? new[] { (header[0], header[1]) } : [];
        var reply = await RawHttp2.PostAsync(Server.Address, UnaryPath, body, headers: headers);
        Assert.True(expectedStatus == reply.GrpcStatus, $"{what}: expected {expectedStatus}, got {reply.GrpcStatus} ({reply.GrpcMessage})");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task TenThousandRandomMalformedRequestsEachGetAStatusAndTheServerKeepsServing()
    {
        var random = new Random(20261122);
        var templates = MalformedRequests.Select(row => (byte[])row[1]).ToArray();
        var statuses = new Dictionary<string, int>();
        var paths = new[] { UnaryPath, "/grpc.testing.TestService/StreamingInputCall", "/grpc.testing.TestService/FullDuplexCall", "/grpc.testing.TestService/StreamingOutputCall", "/x/y", "/grpc.testing.TestService/" };
        var headerChoices = new (string, string)[][]
        {
            [], [("grpc-timeout", "1m")], [("grpc-timeout", "xyz")], [("grpc-encoding", "gzip")], [("grpc-encoding", "zstd")],
            [("x-grpc-test-echo-trailing-bin", "%%%")], [("grpc-accept-encoding", "gzip")],
        };
        const int total = 10_000;
        // Kestrel resets (RST_STREAM NO_ERROR) a stream it answered before the request body ended and tracks it for up to
        // 5 s; past 2 × MaxStreamsPerConnection such streams on one connection it refuses new ones with ENHANCE_YOUR_CALM
        // (its rapid-reset defence). Many of these requests are answered from their headers alone, so the flood moves to a
        // new connection every 100 requests: the server's answers are under test here, not Kestrel's flood limit.
        const int requestsPerConnection = 100;
        var clients = new List<HttpClient>();
        var semaphore = new SemaphoreSlim(32);
        var tasks = new List<Task>();
        var gate = new object();
        for (var i = 0; i < total; i++)
        {
            if (i % requestsPerConnection == 0) clients.Add(RawHttp2.NewClient());
            var client = clients[^1];
            byte[] body;
            lock (random)
            {
                body = random.Next(3) switch
                {
                    0 => Mutate(templates[random.Next(templates.Length)], random),
                    1 => RandomBytes(random, random.Next(0, 64)),
                    _ => Mutate(RawHttp2.Frame(new SimpleRequest { ResponseSize = random.Next(0, 100) }), random),
                };
            }
            var path = paths[i % paths.Length];
            var headers = headerChoices[i % headerChoices.Length];
            await semaphore.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var reply = await RawHttp2.PostAsync(Server.Address, path, body, headers: headers, client: client);
                    Assert.NotNull(reply.GrpcStatus);
                    lock (gate) statuses[reply.GrpcStatus!] = statuses.GetValueOrDefault(reply.GrpcStatus!) + 1;
                }
                finally
                {
                    semaphore.Release();
                }
            }));
        }
        await Task.WhenAll(tasks);
        foreach (var client in clients) client.Dispose();
        Assert.Equal(total, statuses.Values.Sum());
        Assert.True(statuses.Keys.Count >= 3, "expected a spread of statuses: " + string.Join(", ", statuses));
        await AssertStillServingAsync();
    }

    private async Task AssertStillServingAsync()
    {
        using var channel = Server.Channel();
        var response = await new TestServiceClient(channel).UnaryCall(new SimpleRequest { ResponseSize = 3 });
        Assert.Equal(3, response.Payload.Body.Length);
    }

    private static byte[] Mutate(byte[] source, Random random)
    {
        var bytes = source.ToArray();
        if (bytes.Length == 0) return RandomBytes(random, 5);
        switch (random.Next(4))
        {
            case 0: bytes[random.Next(bytes.Length)] = (byte)random.Next(256); return bytes;
            case 1: return bytes[..random.Next(bytes.Length)];
            case 2: return [.. bytes, .. RandomBytes(random, random.Next(1, 10))];
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
