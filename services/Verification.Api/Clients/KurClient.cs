using Verification.Api.Kur.V1;
using Verification.Rpc.Client;

namespace Verification.Api.Clients;

/// <summary>A typed client for <c>verification.kur.v1.KurService</c>.</summary>
public sealed class KurClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ApiDescriptors.Kur;

    private static readonly Method<EnrolBorrowerRequest, EnrolBorrowerResponse> EnrolBorrowerMethod = Method<EnrolBorrowerRequest, EnrolBorrowerResponse>.Create(Service, "EnrolBorrower");
    private static readonly Method<GetEnrolmentRequest, GetEnrolmentResponse> GetEnrolmentMethod = Method<GetEnrolmentRequest, GetEnrolmentResponse>.Create(Service, "GetEnrolment");
    private static readonly Method<ListEnrolmentsRequest, ListEnrolmentsResponse> ListEnrolmentsMethod = Method<ListEnrolmentsRequest, ListEnrolmentsResponse>.Create(Service, "ListEnrolments");
    private static readonly Method<CancelEnrolmentRequest, CancelEnrolmentResponse> CancelEnrolmentMethod = Method<CancelEnrolmentRequest, CancelEnrolmentResponse>.Create(Service, "CancelEnrolment");
    private static readonly Method<GetCoverageReportRequest, GetCoverageReportResponse> GetCoverageReportMethod = Method<GetCoverageReportRequest, GetCoverageReportResponse>.Create(Service, "GetCoverageReport");

    public AsyncUnaryCall<EnrolBorrowerResponse> EnrolBorrower(EnrolBorrowerRequest request, CallOptions options = default) => channel.UnaryCall(EnrolBorrowerMethod, request, options);

    public AsyncUnaryCall<GetEnrolmentResponse> GetEnrolment(GetEnrolmentRequest request, CallOptions options = default) => channel.UnaryCall(GetEnrolmentMethod, request, options);

    public AsyncServerStreamingCall<ListEnrolmentsResponse> ListEnrolments(ListEnrolmentsRequest request, CallOptions options = default) => channel.ServerStreamingCall(ListEnrolmentsMethod, request, options);

    public AsyncUnaryCall<CancelEnrolmentResponse> CancelEnrolment(CancelEnrolmentRequest request, CallOptions options = default) => channel.UnaryCall(CancelEnrolmentMethod, request, options);

    public AsyncUnaryCall<GetCoverageReportResponse> GetCoverageReport(GetCoverageReportRequest request, CallOptions options = default) => channel.UnaryCall(GetCoverageReportMethod, request, options);
}
