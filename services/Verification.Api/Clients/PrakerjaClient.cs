using Verification.Api.Prakerja.V1;
using Verification.Rpc.Client;

namespace Verification.Api.Clients;

/// <summary>A typed client for <c>verification.prakerja.v1.PrakerjaService</c>.</summary>
public sealed class PrakerjaClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ApiDescriptors.Prakerja;

    private static readonly Method<CrossCheckRequest, CrossCheckResponse> CrossCheckMethod = Method<CrossCheckRequest, CrossCheckResponse>.Create(Service, "CrossCheck");
    private static readonly Method<SubmitBatchRequest, SubmitBatchResponse> SubmitBatchMethod = Method<SubmitBatchRequest, SubmitBatchResponse>.Create(Service, "SubmitBatch");
    private static readonly Method<GetBatchRequest, GetBatchResponse> GetBatchMethod = Method<GetBatchRequest, GetBatchResponse>.Create(Service, "GetBatch");
    private static readonly Method<StreamBatchResultsRequest, StreamBatchResultsResponse> StreamBatchResultsMethod = Method<StreamBatchResultsRequest, StreamBatchResultsResponse>.Create(Service, "StreamBatchResults");

    public AsyncDuplexStreamingCall<CrossCheckRequest, CrossCheckResponse> CrossCheck(CallOptions options = default) => channel.DuplexStreamingCall(CrossCheckMethod, options);

    /// <summary>Send the header first, then recipient chunks; complete the request stream to commit the batch.</summary>
    public AsyncClientStreamingCall<SubmitBatchRequest, SubmitBatchResponse> SubmitBatch(CallOptions options = default) => channel.ClientStreamingCall(SubmitBatchMethod, options);

    public AsyncUnaryCall<GetBatchResponse> GetBatch(GetBatchRequest request, CallOptions options = default) => channel.UnaryCall(GetBatchMethod, request, options);

    public AsyncServerStreamingCall<StreamBatchResultsResponse> StreamBatchResults(StreamBatchResultsRequest request, CallOptions options = default) => channel.ServerStreamingCall(StreamBatchResultsMethod, request, options);
}
