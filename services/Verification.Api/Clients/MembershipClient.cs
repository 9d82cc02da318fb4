using Verification.Api.Membership.V1;
using Verification.Rpc.Client;

namespace Verification.Api.Clients;

/// <summary>A typed client for <c>verification.membership.v1.MembershipService</c>.</summary>
public sealed class MembershipClient(RpcChannel channel)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ApiDescriptors.Membership;

    private static readonly Method<VerifyMembershipRequest, VerifyMembershipResponse> VerifyMembershipMethod = Method<VerifyMembershipRequest, VerifyMembershipResponse>.Create(Service, "VerifyMembership");
    private static readonly Method<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> VerifyMembershipBatchMethod = Method<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse>.Create(Service, "VerifyMembershipBatch");
    private static readonly Method<EnrollParticipantRequest, EnrollParticipantResponse> EnrollParticipantMethod = Method<EnrollParticipantRequest, EnrollParticipantResponse>.Create(Service, "EnrollParticipant");
    private static readonly Method<EnrollParticipantsRequest, EnrollParticipantsResponse> EnrollParticipantsMethod = Method<EnrollParticipantsRequest, EnrollParticipantsResponse>.Create(Service, "EnrollParticipants");
    private static readonly Method<EndCoverageRequest, EndCoverageResponse> EndCoverageMethod = Method<EndCoverageRequest, EndCoverageResponse>.Create(Service, "EndCoverage");
    private static readonly Method<CheckHousingBenefitEligibilityRequest, CheckHousingBenefitEligibilityResponse> CheckHousingBenefitEligibilityMethod = Method<CheckHousingBenefitEligibilityRequest, CheckHousingBenefitEligibilityResponse>.Create(Service, "CheckHousingBenefitEligibility");
    private static readonly Method<QuoteContributionRequest, QuoteContributionResponse> QuoteContributionMethod = Method<QuoteContributionRequest, QuoteContributionResponse>.Create(Service, "QuoteContribution");
    private static readonly Method<GetParticipantRequest, GetParticipantResponse> GetParticipantMethod = Method<GetParticipantRequest, GetParticipantResponse>.Create(Service, "GetParticipant");

    public AsyncUnaryCall<VerifyMembershipResponse> VerifyMembership(VerifyMembershipRequest request, CallOptions options = default) => channel.UnaryCall(VerifyMembershipMethod, request, options);

    public AsyncDuplexStreamingCall<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> VerifyMembershipBatch(CallOptions options = default) => channel.DuplexStreamingCall(VerifyMembershipBatchMethod, options);

    public AsyncUnaryCall<EnrollParticipantResponse> EnrollParticipant(EnrollParticipantRequest request, CallOptions options = default) => channel.UnaryCall(EnrollParticipantMethod, request, options);

    /// <summary>A chunk of enrolments in one call and one transaction, answered per item in order.</summary>
    public AsyncUnaryCall<EnrollParticipantsResponse> EnrollParticipants(EnrollParticipantsRequest request, CallOptions options = default) => channel.UnaryCall(EnrollParticipantsMethod, request, options);

    public AsyncUnaryCall<EndCoverageResponse> EndCoverage(EndCoverageRequest request, CallOptions options = default) => channel.UnaryCall(EndCoverageMethod, request, options);

    public AsyncUnaryCall<CheckHousingBenefitEligibilityResponse> CheckHousingBenefitEligibility(CheckHousingBenefitEligibilityRequest request, CallOptions options = default) => channel.UnaryCall(CheckHousingBenefitEligibilityMethod, request, options);

    public AsyncUnaryCall<QuoteContributionResponse> QuoteContribution(QuoteContributionRequest request, CallOptions options = default) => channel.UnaryCall(QuoteContributionMethod, request, options);

    public AsyncUnaryCall<GetParticipantResponse> GetParticipant(GetParticipantRequest request, CallOptions options = default) => channel.UnaryCall(GetParticipantMethod, request, options);
}
