using Verification.Api.Audit.V1;
using Verification.Rpc.Client;

namespace Verification.Api.Clients;

/// <summary>A typed client for <c>verification.audit.v1.AuditService</c>.</summary>
public sealed class AuditClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ApiDescriptors.Audit;

    private static readonly Method<TraceRequest, TraceResponse> TraceMethod = Method<TraceRequest, TraceResponse>.Create(Service, "Trace");
    private static readonly Method<GetEntriesRequest, GetEntriesResponse> GetEntriesMethod = Method<GetEntriesRequest, GetEntriesResponse>.Create(Service, "GetEntries");
    private static readonly Method<GetTreeHeadRequest, GetTreeHeadResponse> GetTreeHeadMethod = Method<GetTreeHeadRequest, GetTreeHeadResponse>.Create(Service, "GetTreeHead");
    private static readonly Method<GetInclusionProofRequest, GetInclusionProofResponse> GetInclusionProofMethod = Method<GetInclusionProofRequest, GetInclusionProofResponse>.Create(Service, "GetInclusionProof");
    private static readonly Method<GetConsistencyProofRequest, GetConsistencyProofResponse> GetConsistencyProofMethod = Method<GetConsistencyProofRequest, GetConsistencyProofResponse>.Create(Service, "GetConsistencyProof");

    public AsyncServerStreamingCall<TraceResponse> Trace(TraceRequest request, CallOptions options = default) => channel.ServerStreamingCall(TraceMethod, request, options);

    public AsyncUnaryCall<GetEntriesResponse> GetEntries(GetEntriesRequest request, CallOptions options = default) => channel.UnaryCall(GetEntriesMethod, request, options);

    public AsyncUnaryCall<GetTreeHeadResponse> GetTreeHead(GetTreeHeadRequest request, CallOptions options = default) => channel.UnaryCall(GetTreeHeadMethod, request, options);

    public AsyncUnaryCall<GetInclusionProofResponse> GetInclusionProof(GetInclusionProofRequest request, CallOptions options = default) => channel.UnaryCall(GetInclusionProofMethod, request, options);

    public AsyncUnaryCall<GetConsistencyProofResponse> GetConsistencyProof(GetConsistencyProofRequest request, CallOptions options = default) => channel.UnaryCall(GetConsistencyProofMethod, request, options);
}
