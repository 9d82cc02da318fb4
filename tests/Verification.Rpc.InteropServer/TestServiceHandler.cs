using Google.Protobuf;
using Grpc.Core;
using Grpc.Testing;

namespace Verification.Rpc.InteropServer;

/// <summary><c>grpc.testing.TestService</c> as grpc's doc/interop-test-descriptions.md asks of a server.</summary>
public sealed class TestServiceHandler : TestService.TestServiceBase
{
    private const string EchoInitialKey = "x-grpc-test-echo-initial";
    private const string EchoTrailingKey = "x-grpc-test-echo-trailing-bin";
    // grpc-dotnet compresses a call's responses when this header is among the response headers it sends.
    private const string CompressResponsesKey = "grpc-internal-encoding-request";

    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        await EchoMetadataAsync(context, compressResponses: request.ResponseCompressed?.Value == true);
        CheckCompression(request.ExpectCompressed, context);
        ThrowIfStatusRequested(request.ResponseStatus);
        return new SimpleResponse { Payload = NewPayload(request.ResponseSize), Hostname = Environment.MachineName };
    }

    public override Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context)
    {
        context.GetHttpContext().Response.Headers.CacheControl = "max-age=60, public";
        return UnaryCall(request, context);
    }

    public override async Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context, compressResponses: request.ResponseParameters.Any(p => p.Compressed?.Value == true));
        await WriteResponsesAsync(request.ResponseParameters, responseStream, context);
        ThrowIfStatusRequested(request.ResponseStatus);
    }

    public override async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context)
    {
        var total = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            CheckCompression(requestStream.Current.ExpectCompressed, context);
            total += requestStream.Current.Payload?.Body.Length ?? 0;
        }
        return new StreamingInputCallResponse { AggregatedPayloadSize = total };
    }

    public override async Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        await EchoMetadataAsync(context);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            ThrowIfStatusRequested(requestStream.Current.ResponseStatus);
            await WriteResponsesAsync(requestStream.Current.ResponseParameters, responseStream, context);
        }
    }

    public override async Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        var buffered = new List<StreamingOutputCallRequest>();
        while (await requestStream.MoveNext(context.CancellationToken)) buffered.Add(requestStream.Current);
        foreach (var request in buffered) await WriteResponsesAsync(request.ResponseParameters, responseStream, context);
    }

    private static async Task WriteResponsesAsync(IEnumerable<ResponseParameters> parameters, IServerStreamWriter<StreamingOutputCallResponse> responses, ServerCallContext context)
    {
        foreach (var parameter in parameters)
        {
            if (parameter.IntervalUs > 0) await Task.Delay(TimeSpan.FromMicroseconds(parameter.IntervalUs), context.CancellationToken);
            var compress = parameter.Compressed?.Value == true;
            // Compression is chosen for the call when headers go out; per-message flags can then turn it off.
            responses.WriteOptions = compress ? WriteOptions.Default : new WriteOptions(WriteFlags.NoCompress);
            await responses.WriteAsync(new StreamingOutputCallResponse { Payload = NewPayload(parameter.Size) }, context.CancellationToken);
        }
    }

    private static Payload NewPayload(int size)
    {
        if (size < 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "response_size must not be negative."));
        return new Payload { Type = PayloadType.Compressable, Body = ByteString.CopyFrom(new byte[size]) };
    }

    private static async Task EchoMetadataAsync(ServerCallContext context, bool compressResponses = false)
    {
        if (context.RequestHeaders.Get(EchoTrailingKey) is { } trailing)
            context.ResponseTrailers.Add(EchoTrailingKey, trailing.ValueBytes);
        var headers = new Metadata();
        if (context.RequestHeaders.Get(EchoInitialKey) is { } initial) headers.Add(EchoInitialKey, initial.Value);
        if (compressResponses) headers.Add(CompressResponsesKey, "gzip");
        if (headers.Count > 0) await context.WriteResponseHeadersAsync(headers);
    }

    private static void CheckCompression(BoolValue? expectCompressed, ServerCallContext context)
    {
        if (expectCompressed is null) return;
        // grpc-dotnet decompresses before the handler sees the message; the call's grpc-encoding says how it came.
        var encoding = context.GetHttpContext().Request.Headers["grpc-encoding"].ToString();
        var compressed = encoding.Length > 0 && encoding != "identity";
        if (expectCompressed.Value != compressed)
            throw new RpcException(new Status(StatusCode.InvalidArgument, expectCompressed.Value ? "Expected a compressed request message." : "Expected an uncompressed request message."));
    }

    private static void ThrowIfStatusRequested(EchoStatus? status)
    {
        if (status is { Code: not 0 }) throw new RpcException(new Status((StatusCode)status.Code, status.Message));
    }
}
