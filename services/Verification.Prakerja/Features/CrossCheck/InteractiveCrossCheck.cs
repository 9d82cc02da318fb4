using System.Globalization;
using Verification.Domain;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Domain;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Features.CrossCheck;

/// <summary>A chunk of a CrossCheck call that cannot be checked: the call fails with these violations, after what was answered.</summary>
public sealed class MalformedCrossCheckException(IReadOnlyList<FieldViolation> violations) : Exception("A CrossCheck message was malformed.")
{
    public IReadOnlyList<FieldViolation> Violations { get; } = violations;
}

/// <summary>
/// CrossCheck: the PMO's recipients go on to one Membership bulk call as they arrive, and results come back as they are
/// known. Invalid NIKs and repeats are answered at once without asking Membership; nothing is stored.
/// </summary>
/// <remarks>
/// Membership gets Prakerja's offsets as row ids (unique within its call whatever the PMO's row ids are); the row ids
/// of the recipients waiting for Membership are held until answered, bounded by HTTP/2 flow control towards Membership.
/// Repeats are found with the set of valid NIKs seen in the call, so memory grows with the call: CrossCheck is for small
/// lists, SubmitBatch for large ones.
/// </remarks>
public sealed class InteractiveCrossCheck(RegistryCheck registry)
{
    public async Task RunAsync(IAsyncStreamReader<CrossCheckRequest> requests, Func<CrossCheckResponse, Task> send, CancellationToken cancellationToken)
    {
        using var writeLock = new SemaphoreSlim(1, 1);
        async Task SendAsync(CrossCheckResponse response)
        {
            if (response.Results.Count == 0) return;
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                await send(response);
            }
            finally
            {
                writeLock.Release();
            }
        }

        // The Membership call inherits this call's deadline and cancellation.
        using var call = registry.Client.VerifyMembershipBatch(new CallOptions(cancellationToken: cancellationToken));
        var waiting = new System.Collections.Concurrent.ConcurrentDictionary<long, string>();
        var answering = AnswerAsync(call, waiting, SendAsync, cancellationToken);
        var seen = new HashSet<long>();
        IReadOnlyList<FieldViolation>? malformed = null;
        long offset = 0;
        try
        {
            while (await requests.MoveNext(cancellationToken))
            {
                var chunk = requests.Current;
                var problems = Submit.BatchSubmission.Validate(new RecipientChunk { Recipients = { chunk.Recipients } }, "");
                if (problems.Count > 0)
                {
                    malformed = problems;
                    break;
                }

                var local = new CrossCheckResponse();
                var ask = new VerifyMembershipBatchRequest();
                foreach (var recipient in chunk.Recipients)
                {
                    var position = offset++;
                    var (nik, reason) = RecipientVerdict.Read(recipient.Nik);
                    if (reason != InvalidNikReason.Unspecified)
                    {
                        local.Results.Add(new RecipientResult { Offset = position, RowId = recipient.RowId, Status = RecipientStatus.InvalidNik, InvalidNikReason = reason });
                    }
                    else if (!seen.Add(nik))
                    {
                        local.Results.Add(new RecipientResult { Offset = position, RowId = recipient.RowId, Status = RecipientStatus.DuplicateInBatch });
                    }
                    else
                    {
                        waiting[position] = recipient.RowId;
                        ask.Items.Add(new VerifyMembershipBatchItem { RowId = position.ToString(CultureInfo.InvariantCulture), Nik = recipient.Nik });
                    }
                }

                if (ask.Items.Count > 0) await call.RequestStream.WriteAsync(ask, cancellationToken);
                await SendAsync(local);
                if (answering.IsFaulted) await answering;
            }

            // Also after a malformed message: what was asked before is answered before the call fails.
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // Writing to Membership failed because its call ended: the reader holds the reason.
            await answering;
            throw;
        }

        await answering;
        if (malformed is not null) throw new MalformedCrossCheckException(malformed);
    }

    private static async Task AnswerAsync(
        AsyncDuplexStreamingCall<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> call,
        System.Collections.Concurrent.ConcurrentDictionary<long, string> waiting,
        Func<CrossCheckResponse, Task> send,
        CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var response = new CrossCheckResponse();
            foreach (var answer in call.ResponseStream.Current.Results)
            {
                var position = long.Parse(answer.RowId, NumberStyles.None, CultureInfo.InvariantCulture);
                if (!waiting.TryRemove(position, out var rowId)) throw new InvalidOperationException("Membership answered a row it was not asked about.");
                var (status, reason) = RecipientVerdict.Of(answer);
                response.Results.Add(new RecipientResult { Offset = position, RowId = rowId, Status = status, InvalidNikReason = reason });
            }

            await send(response);
        }
    }
}
