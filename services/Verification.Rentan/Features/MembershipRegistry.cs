using System.Globalization;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Platform.Hosting;

namespace Verification.Rentan.Features;

/// <summary>What Rentan asks of Membership. A seam only so tests can stand Membership's faults between the modules.</summary>
public interface IMembershipRegistry
{
    Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken);

    Task<EndCoveragesResponse> EndManyAsync(EndCoveragesRequest request, CancellationToken cancellationToken);

    Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="niks"/> (16-digit numbers) are covered as wage earners (PU) today.</summary>
    Task<IReadOnlySet<long>> WageEarnersAsync(IReadOnlyList<long> niks, CancellationToken cancellationToken);
}

/// <summary>
/// Membership over gRPC as the internal-service member (in monolithic mode through this same server), on behalf of the
/// sponsor whose call it serves: calls inherit what is left of its deadline and its cancellation.
/// </summary>
public sealed class MembershipRegistry(ModuleClient<MembershipService.MembershipServiceClient> membership) : IMembershipRegistry
{
    /// <summary>Membership's module name, as in <c>Verification:Endpoints</c>.</summary>
    public const string ModuleName = "membership";

    /// <summary>NIKs per message of a bulk verification: Membership answers a few messages of one call concurrently.</summary>
    public const int ItemsPerMessage = 1_000;

    /// <summary>A bulk verification of a December update's million workers takes seconds, not the default deadline's ten.</summary>
    public static readonly TimeSpan VerificationDeadline = TimeSpan.FromMinutes(10);

    private MembershipService.MembershipServiceClient Client => membership.Client;

    public async Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken) =>
        await Client.EnrollParticipantsAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<EndCoveragesResponse> EndManyAsync(EndCoveragesRequest request, CancellationToken cancellationToken) =>
        await Client.EndCoveragesAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) =>
        await Client.QuoteContributionAsync(request, new CallOptions(cancellationToken: cancellationToken));

    public async Task<IReadOnlySet<long>> WageEarnersAsync(IReadOnlyList<long> niks, CancellationToken cancellationToken)
    {
        var wageEarners = new HashSet<long>();
        if (niks.Count == 0) return wageEarners;
        using var call = Client.VerifyMembershipBatch(RpcCalls.WithTimeout(VerificationDeadline, cancellationToken));
#pragma warning disable CA2025 // Every exit awaits the reader: after an RpcException below, after cancelling the call otherwise.
        var reading = ReadAsync(call, niks, wageEarners, cancellationToken);
#pragma warning restore CA2025
        try
        {
            for (var start = 0; start < niks.Count; start += ItemsPerMessage)
            {
                var message = new VerifyMembershipBatchRequest();
                for (var i = start; i < Math.Min(niks.Count, start + ItemsPerMessage); i++)
                    message.Items.Add(new VerifyMembershipBatchItem { RowId = i.ToString(CultureInfo.InvariantCulture), Nik = niks[i].ToString("D16", CultureInfo.InvariantCulture) });
                await call.RequestStream.WriteAsync(message, cancellationToken);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The reader sees why the call ended; its exception is the one that matters.
        }
        catch
        {
            // Leave no reader running on a disposed call: disposing cancels the call, which ends the reader.
            call.Dispose();
            await ((Task)reading).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        var answered = await reading;
        if (answered != niks.Count) throw new RpcException(new Status(StatusCode.Internal, $"Membership answered {answered} of {niks.Count} NIKs."));
        return wageEarners;
    }

    private static async Task<int> ReadAsync(
        AsyncDuplexStreamingCall<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> call, IReadOnlyList<long> niks, HashSet<long> wageEarners, CancellationToken cancellationToken)
    {
        var answered = 0;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            foreach (var result in call.ResponseStream.Current.Results)
            {
                answered++;
                if (result.Status == MembershipStatus.Active && result.Segment == Segment.Pu)
                    wageEarners.Add(niks[int.Parse(result.RowId, NumberStyles.None, CultureInfo.InvariantCulture)]);
            }
        }

        return answered;
    }

    /// <summary>Failures a later retry may not meet: Membership down, overloaded, slow or failing inside.</summary>
    public static bool IsTransient(RpcException exception) => exception.StatusCode is
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled;

    /// <summary>A refusal the sponsor could not have caused (e.g. Rentan's own credentials refused): an internal error, never Membership's status.</summary>
    public static InvalidOperationException Unexpected(string call, RpcException exception) =>
        new($"Membership answered {call} with {exception.StatusCode}.", exception);
}
