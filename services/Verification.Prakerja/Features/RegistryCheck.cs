using System.Globalization;
using Verification.Api.Membership.V1;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Features;

/// <summary>
/// Membership's bulk verification over gRPC as the internal-service member (in monolithic mode through this same
/// server). Row ids sent to Membership are Prakerja's own offsets, unique within the call whatever the PMO's row ids.
/// </summary>
public sealed class RegistryCheck(ModuleClient<MembershipService.MembershipServiceClient> membership)
{
    /// <summary>Membership's module name, as in <c>Verification:Endpoints</c>.</summary>
    public const string ModuleName = "membership";

    /// <summary>Rows per message to Membership: it answers up to three messages of one call concurrently.</summary>
    public const int ItemsPerMessage = 1_000;

    public MembershipService.MembershipServiceClient Client => membership.Client;

    /// <summary>
    /// Checks <paramref name="count"/> NIKs in one call; <paramref name="answer"/> receives each answer with the index it
    /// was sent under. Outside a PMO call (the worker) the call gets its own deadline.
    /// </summary>
    public async Task CheckAsync(int count, Func<int, long> nikAt, Action<int, VerifyMembershipBatchResult> answer, TimeSpan deadline, CancellationToken cancellationToken)
    {
        if (count == 0) return;
        using var call = Client.VerifyMembershipBatch(RpcCalls.WithTimeout(deadline, cancellationToken));
#pragma warning disable CA2025 // Every exit awaits the reader: after an RpcException below, after cancelling the call otherwise.
        var reading = ReadAsync(call, answer, cancellationToken);
#pragma warning restore CA2025
        try
        {
            for (var start = 0; start < count; start += ItemsPerMessage)
            {
                var message = new VerifyMembershipBatchRequest();
                for (var i = start; i < Math.Min(count, start + ItemsPerMessage); i++)
                    message.Items.Add(new VerifyMembershipBatchItem { RowId = i.ToString(CultureInfo.InvariantCulture), Nik = Domain.RecipientVerdict.Digits(nikAt(i)) });
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
        if (answered != count) throw RpcErrors.Of(StatusCode.Internal, $"Membership answered {answered} of {count} rows.");
    }

    private static async Task<int> ReadAsync(AsyncDuplexStreamingCall<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> call,
        Action<int, VerifyMembershipBatchResult> answer, CancellationToken cancellationToken)
    {
        var answered = 0;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            foreach (var result in call.ResponseStream.Current.Results)
            {
                answer(int.Parse(result.RowId, NumberStyles.None, CultureInfo.InvariantCulture), result);
                answered++;
            }
        }

        return answered;
    }

    /// <summary>
    /// Failures a later retry may not meet: Membership down, overloaded, slow or failing inside. Anything else is a
    /// refusal of Prakerja's own request (credentials, a contract mismatch) that retrying will not cure.
    /// </summary>
    public static bool IsTransient(RpcException exception) => exception.StatusCode is
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled;
}
