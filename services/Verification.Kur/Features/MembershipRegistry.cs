using Verification.Api.Membership.V1;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Features;

/// <summary>What KUR asks of Membership. A seam only so feature tests can stand in for the gRPC hop and fail it on cue.</summary>
public interface IMembershipRegistry
{
    Task<VerifyMembershipResponse> VerifyAsync(VerifyMembershipRequest request, CancellationToken cancellationToken);

    Task<EnrollParticipantResponse> EnrolAsync(EnrollParticipantRequest request, CancellationToken cancellationToken);

    Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken);

    Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Membership over gRPC as the internal-service member (in monolithic mode through this same server). Calls made while
/// serving a bank inherit what is left of the bank's deadline and its cancellation.
/// </summary>
public sealed class MembershipRegistry(ModuleClient<MembershipService.MembershipServiceClient> membership) : IMembershipRegistry
{
    /// <summary>Membership's module name, as in <c>Verification:Endpoints</c>.</summary>
    public const string ModuleName = "membership";

    private MembershipService.MembershipServiceClient Client => membership.Client;

    public async Task<VerifyMembershipResponse> VerifyAsync(VerifyMembershipRequest request, CancellationToken cancellationToken) =>
        await Client.VerifyMembershipAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<EnrollParticipantResponse> EnrolAsync(EnrollParticipantRequest request, CancellationToken cancellationToken) =>
        await Client.EnrollParticipantAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) =>
        await Client.QuoteContributionAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken) =>
        await Client.EndCoverageAsync(request, new CallOptions(cancellationToken: cancellationToken));

    /// <summary>
    /// A refusal the bank could not have caused or cured (e.g. KUR's own credentials refused): it must not reach the bank as
    /// Membership's status, so it becomes an internal error, logged with the status.
    /// </summary>
    public static InvalidOperationException Unexpected(string call, RpcException exception) =>
        new($"Membership answered {call} with {exception.StatusCode}.", exception);

    /// <summary>
    /// Failures a later retry may not meet: Membership down, overloaded or slow (deadline), or failing inside. The bank
    /// is told UNAVAILABLE with RetryInfo; anything else (a refusal of this request) is not retryable.
    /// </summary>
    public static bool IsTransient(RpcException exception) => exception.StatusCode is
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled;
}
