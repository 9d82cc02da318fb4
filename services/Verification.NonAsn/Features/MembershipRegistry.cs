using Verification.Api.Membership.V1;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;

namespace Verification.NonAsn.Features;

/// <summary>What NonAsn asks of Membership. A seam only so feature tests can stand in for the gRPC hop.</summary>
public interface IMembershipRegistry
{
    Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken);

    Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken);

    Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Membership over gRPC as the internal-service member (in monolithic mode through this same server). Calls made while
/// serving an agency inherit what is left of its deadline and its cancellation.
/// </summary>
public sealed class MembershipRegistry(ModuleClient<MembershipService.MembershipServiceClient> membership) : IMembershipRegistry
{
    /// <summary>Membership's module name, as in <c>Verification:Endpoints</c>.</summary>
    public const string ModuleName = "membership";

    private MembershipService.MembershipServiceClient Client => membership.Client;

    public async Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken) =>
        await Client.EnrollParticipantsAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken) =>
        await Client.EndCoverageAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) =>
        await Client.QuoteContributionAsync(request, new CallOptions(cancellationToken: cancellationToken));

    /// <summary>Failures a later retry may not meet: Membership down, overloaded, slow or failing inside.</summary>
    public static bool IsTransient(RpcException exception) => exception.StatusCode is
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled;

    /// <summary>A refusal the agency could not have caused (e.g. NonAsn's own credentials refused): an internal error, never Membership's status.</summary>
    public static InvalidOperationException Unexpected(string call, RpcException exception) =>
        new($"Membership answered {call} with {exception.StatusCode}.", exception);
}
