using Google.Protobuf;
using Grpc.Core;
using Grpc.Testing;

namespace Verification.Rpc.InteropServer;

/// <summary>Our client through the cases of grpc's doc/interop-test-descriptions.md, against any TestService server.</summary>
public sealed class InteropClient(ChannelBase channel)
{
    public static readonly IReadOnlyList<string> AllCases =
    [
        "empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
        "custom_metadata", "status_code_and_message", "special_status_message", "unimplemented_method",
        "unimplemented_service", "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
        "client_compressed_unary", "server_compressed_unary",
    ];

    private const string SpecialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

    private readonly TestService.TestServiceClient _client = new(channel);

    private readonly UnimplementedService.UnimplementedServiceClient _unimplemented = new(channel);

    /// <summary>Runs one case; null when it passed, else why it failed.</summary>
    public async Task<string?> RunAsync(string name)
    {
        try
        {
            await (name switch
            {
                "empty_unary" => EmptyUnary(),
                "large_unary" => LargeUnary(),
                "client_streaming" => ClientStreaming(),
                "server_streaming" => ServerStreaming(),
                "ping_pong" => PingPong(),
                "empty_stream" => EmptyStream(),
                "custom_metadata" => CustomMetadata(),
                "status_code_and_message" => StatusCodeAndMessage(),
                "special_status_message" => SpecialStatusMessage(),
                "unimplemented_method" => UnimplementedMethod(),
                "unimplemented_service" => UnimplementedService(),
                "cancel_after_begin" => CancelAfterBegin(),
                "cancel_after_first_response" => CancelAfterFirstResponse(),
                "timeout_on_sleeping_server" => TimeoutOnSleepingServer(),
                "client_compressed_unary" => ClientCompressedUnary(),
                "server_compressed_unary" => ServerCompressedUnary(),
                _ => throw new ArgumentException($"Unknown test case '{name}'."),
            });
            return null;
        }
        catch (InteropFailure failure)
        {
            return failure.Message;
        }
        catch (RpcException ex)
        {
            return $"unexpected {ex.Status}";
        }
    }

    private static CallOptions Options(Metadata? headers = null, string? compression = null, CancellationToken cancellationToken = default)
    {
        // Grpc.Net.Client compresses a call's request messages when this header names the algorithm.
        if (compression is not null) (headers ??= []).Add("grpc-internal-encoding-request", compression);
        return new(headers: headers, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
    }

    private static Payload Zeros(int size) => new() { Body = ByteString.CopyFrom(new byte[size]) };

    private async Task EmptyUnary()
    {
        var response = await _client.EmptyCallAsync(new Empty(), Options());
        Check(response.Equals(new Empty()), "response was not empty");
    }

    private async Task LargeUnary()
    {
        var response = await _client.UnaryCallAsync(new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828) }, Options());
        CheckZeros(response.Payload, 314159);
    }

    private async Task ClientStreaming()
    {
        using var call = _client.StreamingInputCall(Options());
        foreach (var size in new[] { 27182, 8, 1828, 45904 })
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = Zeros(size) });
        await call.RequestStream.CompleteAsync();
        var response = await call.ResponseAsync;
        Check(response.AggregatedPayloadSize == 74922, $"aggregated size {response.AggregatedPayloadSize}, expected 74922");
    }

    private async Task ServerStreaming()
    {
        var sizes = new[] { 31415, 9, 2653, 58979 };
        var request = new StreamingOutputCallRequest();
        foreach (var size in sizes) request.ResponseParameters.Add(new ResponseParameters { Size = size });
        using var call = _client.StreamingOutputCall(request, Options());
        var received = new List<int>();
        while (await call.ResponseStream.MoveNext())
        {
            CheckZeros(call.ResponseStream.Current.Payload, sizes[Math.Min(received.Count, sizes.Length - 1)]);
            received.Add(call.ResponseStream.Current.Payload.Body.Length);
        }
        Check(received.SequenceEqual(sizes), $"received sizes [{string.Join(",", received)}]");
        Check(call.GetStatus().StatusCode == StatusCode.OK, $"status {call.GetStatus()}");
    }

    private async Task PingPong()
    {
        var sizes = new[] { (31415, 27182), (9, 8), (2653, 1828), (58979, 45904) };
        using var call = _client.FullDuplexCall(Options());
        foreach (var (responseSize, payloadSize) in sizes)
        {
            var request = new StreamingOutputCallRequest { Payload = Zeros(payloadSize) };
            request.ResponseParameters.Add(new ResponseParameters { Size = responseSize });
            await call.RequestStream.WriteAsync(request);
            Check(await call.ResponseStream.MoveNext(), "stream ended early");
            CheckZeros(call.ResponseStream.Current.Payload, responseSize);
        }
        await call.RequestStream.CompleteAsync();
        Check(!await call.ResponseStream.MoveNext(), "extra response");
    }

    private async Task EmptyStream()
    {
        using var call = _client.FullDuplexCall(Options());
        await call.RequestStream.CompleteAsync();
        Check(!await call.ResponseStream.MoveNext(), "a response on an empty stream");
        Check(call.GetStatus().StatusCode == StatusCode.OK, $"status {call.GetStatus()}");
    }

    private async Task CustomMetadata()
    {
        var trailing = new byte[] { 0xab, 0xab, 0xab };
        Metadata Headers() => new() { { "x-grpc-test-echo-initial", "test_initial_metadata_value" }, { "x-grpc-test-echo-trailing-bin", trailing } };

        using (var unary = _client.UnaryCallAsync(new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828) }, Options(Headers())))
        {
            CheckZeros((await unary).Payload, 314159);
            var headers = await unary.ResponseHeadersAsync;
            Check(headers.GetValue("x-grpc-test-echo-initial") == "test_initial_metadata_value", "unary: initial metadata not echoed");
            Check(unary.GetTrailers().GetValueBytes("x-grpc-test-echo-trailing-bin")?.SequenceEqual(trailing) == true, "unary: trailing metadata not echoed");
        }

        using var duplex = _client.FullDuplexCall(Options(Headers()));
        var request = new StreamingOutputCallRequest { Payload = Zeros(271828) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 314159 });
        await duplex.RequestStream.WriteAsync(request);
        await duplex.RequestStream.CompleteAsync();
        Check(await duplex.ResponseStream.MoveNext(), "duplex: no response");
        CheckZeros(duplex.ResponseStream.Current.Payload, 314159);
        Check(!await duplex.ResponseStream.MoveNext(), "duplex: extra response");
        Check((await duplex.ResponseHeadersAsync).GetValue("x-grpc-test-echo-initial") == "test_initial_metadata_value", "duplex: initial metadata not echoed");
        Check(duplex.GetTrailers().GetValueBytes("x-grpc-test-echo-trailing-bin")?.SequenceEqual(trailing) == true, "duplex: trailing metadata not echoed");
    }

    private async Task StatusCodeAndMessage()
    {
        var status = new EchoStatus { Code = 2, Message = "test status message" };
        var unary = await Expect(StatusCode.Unknown, async () => await _client.UnaryCallAsync(new SimpleRequest { ResponseStatus = status }, Options()));
        Check(unary.Status.Detail == "test status message", $"unary message '{unary.Status.Detail}'");

        using var duplex = _client.FullDuplexCall(Options());
        await duplex.RequestStream.WriteAsync(new StreamingOutputCallRequest { ResponseStatus = status });
        await duplex.RequestStream.CompleteAsync();
        var streamed = await Expect(StatusCode.Unknown, async () => { while (await duplex.ResponseStream.MoveNext()) { } });
        Check(streamed.Status.Detail == "test status message", $"duplex message '{streamed.Status.Detail}'");
    }

    private async Task SpecialStatusMessage()
    {
        var status = new EchoStatus { Code = 2, Message = SpecialMessage };
        var ex = await Expect(StatusCode.Unknown, async () => await _client.UnaryCallAsync(new SimpleRequest { ResponseStatus = status }, Options()));
        Check(ex.Status.Detail == SpecialMessage, "message did not survive percent-encoding");
    }

    private async Task UnimplementedMethod() =>
        await Expect(StatusCode.Unimplemented, async () => await _client.UnimplementedCallAsync(new Empty(), Options()));

    private async Task UnimplementedService() =>
        await Expect(StatusCode.Unimplemented, async () => await _unimplemented.UnimplementedCallAsync(new Empty(), Options()));

    private async Task CancelAfterBegin()
    {
        using var cts = new CancellationTokenSource();
        using var call = _client.StreamingInputCall(Options(cancellationToken: cts.Token));
        await Task.Delay(50);
        await cts.CancelAsync();
        await Expect(StatusCode.Cancelled, async () => await call.ResponseAsync);
    }

    private async Task CancelAfterFirstResponse()
    {
        using var cts = new CancellationTokenSource();
        using var call = _client.FullDuplexCall(Options(cancellationToken: cts.Token));
        var request = new StreamingOutputCallRequest { Payload = Zeros(27182) };
        request.ResponseParameters.Add(new ResponseParameters { Size = 31415 });
        await call.RequestStream.WriteAsync(request);
        Check(await call.ResponseStream.MoveNext(), "no first response");
        await cts.CancelAsync();
        await Expect(StatusCode.Cancelled, async () => await call.ResponseStream.MoveNext());
    }

    private async Task TimeoutOnSleepingServer()
    {
        using var call = _client.FullDuplexCall(new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(1)));
        try
        {
            await call.RequestStream.WriteAsync(new StreamingOutputCallRequest { Payload = Zeros(27182) });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            // The deadline may pass before the write; the description allows either.
        }
        await Expect(StatusCode.DeadlineExceeded, async () => await call.ResponseStream.MoveNext());
    }

    private async Task ClientCompressedUnary()
    {
        var probe = new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828), ExpectCompressed = new BoolValue { Value = true } };
        await Expect(StatusCode.InvalidArgument, async () => await _client.UnaryCallAsync(probe, Options()));
        var compressed = await _client.UnaryCallAsync(probe, Options(compression: "gzip"));
        CheckZeros(compressed.Payload, 314159);
        var plain = new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828), ExpectCompressed = new BoolValue { Value = false } };
        CheckZeros((await _client.UnaryCallAsync(plain, Options())).Payload, 314159);
    }

    private async Task ServerCompressedUnary()
    {
        foreach (var compress in new[] { true, false })
        {
            var request = new SimpleRequest { ResponseSize = 314159, Payload = Zeros(271828), ResponseCompressed = new BoolValue { Value = compress } };
            CheckZeros((await _client.UnaryCallAsync(request, Options())).Payload, 314159);
        }
    }

    private static async Task<RpcException> Expect(StatusCode code, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (RpcException ex)
        {
            Check(ex.StatusCode == code, $"expected {code}, got {ex.Status}");
            return ex;
        }
        throw new InteropFailure($"expected {code}, but the call succeeded");
    }

    private static void CheckZeros(Payload? payload, int size)
    {
        Check(payload is not null, "no payload");
        Check(payload!.Body.Length == size, $"payload of {payload.Body.Length} bytes, expected {size}");
        Check(payload.Body.Span.IndexOfAnyExcept((byte)0) < 0, "payload is not all zeros");
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition) throw new InteropFailure(failure);
    }

    private sealed class InteropFailure(string message) : Exception(message);
}
