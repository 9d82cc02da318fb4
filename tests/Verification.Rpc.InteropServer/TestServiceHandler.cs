using Google.Protobuf;
using Grpc.Testing;
using Verification.Rpc;
using Verification.Rpc.Server;

namespace Verification.Rpc.InteropServer;

/// <summary><c>grpc.testing.TestService</c> as grpc's doc/interop-test-descriptions.md asks of a server.</summary>
public sealed class TestServiceHandler
{
    private const string EchoInitialKey = "x-grpc-test-echo-initial";
    private const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";

    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        CheckCompression(request.ExpectCompressed, context);
        ThrowIfStatusRequested(request.ResponseStatus);
        if (request.ResponseCompressed is { } compressed) context.ResponseCompression = compressed.Value ? "gzip" : null;
        return new SimpleResponse { Payload = NewPayload(request.ResponseSize), Hostname = Environment.MachineName };
    }

    public Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context)
    {
        context.GetHttpContext().Response.Headers.CacheControl = "max-age=60, public";
        return UnaryCall(request, context);
    }

    public async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        await WriteResponsesAsync(request.ResponseParameters, responses, context);
        ThrowIfStatusRequested(request.ResponseStatus);
    }

    public async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requests, ServerCallContext context)
    {
        var total = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            CheckCompression(requests.Current.ExpectCompressed, context);
            total += requests.Current.Payload?.Body.Length ?? 0;
        }
        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    public async Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        while (await requests.MoveNext(context.CancellationToken))
        {
            ThrowIfStatusRequested(requests.Current.ResponseStatus);
            await WriteResponsesAsync(requests.Current.ResponseParameters, responses, context);
        }
    }

    public async Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requests, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        var buffered = new List<StreamingOutputCallRequest>();
        while (await requests.MoveNext(context.CancellationToken)) buffered.Add(requests.Current);
        foreach (var request in buffered) await WriteResponsesAsync(request.ResponseParameters, responses, context);
    }

    private static async Task WriteResponsesAsync(IEnumerable<ResponseParameters> parameters, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        var list = parameters.ToList();
        // Compression is chosen for the call when headers go out; per-message flags can then turn it off.
        if (list.Any(p => p.Compressed?.Value == true)) context.ResponseCompression = "gzip";
        foreach (var parameter in list)
        {
            if (parameter.IntervalUs > 0) await Task.Delay(TimeSpan.FromMicroseconds(parameter.IntervalUs), context.CancellationToken);
            var compress = parameter.Compressed?.Value == true;
            responses.WriteOptions = compress ? WriteOptions.Default : new WriteOptions(WriteFlags.NoCompress);
            await responses.WriteAsync(new StreamingOutputCallResponse { Payload = NewPayload(parameter.Size) }, context.CancellationToken);
        }
    }

    private static Payload NewPayload(int size)
    {
        if (size < 0) throw new RpcException(StatusCode.InvalidArgument, "response_size must not be negative.");
        return new Payload { Type = PayloadType.Compressable, Body = ByteString.CopyFrom(new byte[size]) };
    }

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        if (context.RequestHeaders.Get(EchoTrailingKey) is { } trailing)
            context.ResponseTrailers.Add(EchoTrailingKey, trailing.ValueBytes);
        if (context.RequestHeaders.Get(EchoInitialKey) is { } initial)
            await context.WriteResponseHeadersAsync(new Metadata { { EchoInitialKey, initial.Value } });
    }

    private static void CheckCompression(BoolValue? expectCompressed, ServerCallContext context)
    {
        if (expectCompressed is null) return;
        if (expectCompressed.Value != context.RequestMessageCompressed)
            throw new RpcException(StatusCode.InvalidArgument, expectCompressed.Value ? "Expected a compressed request message." : "Expected an uncompressed request message.");
    }

    private static void ThrowIfStatusRequested(EchoStatus? status)
    {
        if (status is { Code: not 0 }) throw new RpcException((StatusCode)status.Code, status.Message);
    }
}
