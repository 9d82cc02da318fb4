using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Prakerja.V1;
using Verification.Domain;
using Verification.Prakerja.Domain;

namespace Verification.Prakerja.Features.CrossCheck;

/// <summary>How a CrossCheck call ended.</summary>
public abstract record CrossCheckOutcome
{
    /// <summary>Every recipient was answered.</summary>
    public sealed record Answered : CrossCheckOutcome;

    /// <summary>A message could not be checked: the call fails with these violations, after what came before was answered.</summary>
    public sealed record Malformed(IReadOnlyList<FieldViolation> Violations) : CrossCheckOutcome;

    /// <summary>Membership could not be reached or did not answer; the PMO may retry the call.</summary>
    public sealed record RegistryUnavailable : CrossCheckOutcome;

    /// <summary>
    /// Reading the PMO's stream failed with this status (its item budget spent, or the stream idle too long): the call ends
    /// with it, after every recipient read before was answered.
    /// </summary>
    public sealed record InputEnded(RpcException Status) : CrossCheckOutcome;
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
    /// <summary>Answers each message of recipients through <paramref name="send"/>, in pieces as their results are known.</summary>
    public async Task<CrossCheckOutcome> RunAsync(
        IAsyncEnumerable<IReadOnlyList<RecipientLine>> messages, Func<IReadOnlyList<RecipientOutcome>, Task> send, CancellationToken cancellationToken)
    {
        try
        {
            return await CheckAsync(messages, send, cancellationToken);
        }
        catch (RpcException ex) when (RegistryCheck.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            return new CrossCheckOutcome.RegistryUnavailable();
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A refusal of Prakerja's own request to Membership: never shown to the PMO as Membership's status.
            throw new InvalidOperationException($"Membership answered VerifyMembershipBatch with {ex.StatusCode}.", ex);
        }
    }

    private async Task<CrossCheckOutcome> CheckAsync(
        IAsyncEnumerable<IReadOnlyList<RecipientLine>> messages, Func<IReadOnlyList<RecipientOutcome>, Task> send, CancellationToken cancellationToken)
    {
        using var writeLock = new SemaphoreSlim(1, 1);
        async Task SendAsync(IReadOnlyList<RecipientOutcome> outcomes)
        {
            if (outcomes.Count == 0) return;
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                await send(outcomes);
            }
            finally
            {
                writeLock.Release();
            }
        }

        // The Membership call inherits this call's deadline and cancellation.
        using var call = registry.Client.VerifyMembershipBatch(new CallOptions(cancellationToken: cancellationToken));
        var waiting = new ConcurrentDictionary<long, string>();
        var answering = AnswerAsync(call, waiting, SendAsync, cancellationToken);
        var seen = new HashSet<long>();
        IReadOnlyList<FieldViolation>? malformed = null;
        RpcException? inputEnded = null;
        long offset = 0;
        await using var reader = messages.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await reader.MoveNextAsync()) break;
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    // The PMO's side ended with a status (over budget, idle): what was asked before is still answered.
                    inputEnded = ex;
                    break;
                }

                var lines = reader.Current;
                var problems = RecipientLine.Problems(lines, "");
                if (problems.Count > 0)
                {
                    malformed = problems;
                    break;
                }

                var local = new List<RecipientOutcome>();
                var ask = new VerifyMembershipBatchRequest();
                foreach (var recipient in lines)
                {
                    var position = offset++;
                    var (nik, reason) = RecipientVerdict.Read(recipient.Nik);
                    if (reason != InvalidNikReason.Unspecified)
                    {
                        local.Add(new RecipientOutcome(position, recipient.RowId, RecipientStatus.InvalidNik, reason));
                    }
                    else if (!seen.Add(nik))
                    {
                        local.Add(new RecipientOutcome(position, recipient.RowId, RecipientStatus.DuplicateInBatch, InvalidNikReason.Unspecified));
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
        catch
        {
            // Leave no reader running on a disposed call: disposing cancels the call, which ends the reader.
            call.Dispose();
            await answering.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }

        await answering;
        if (inputEnded is not null) return new CrossCheckOutcome.InputEnded(inputEnded);
        return malformed is null ? new CrossCheckOutcome.Answered() : new CrossCheckOutcome.Malformed(malformed);
    }

    private static async Task AnswerAsync(
        AsyncDuplexStreamingCall<VerifyMembershipBatchRequest, VerifyMembershipBatchResponse> call,
        ConcurrentDictionary<long, string> waiting,
        Func<IReadOnlyList<RecipientOutcome>, Task> send,
        CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var outcomes = new List<RecipientOutcome>();
            foreach (var answer in call.ResponseStream.Current.Results)
            {
                var position = long.Parse(answer.RowId, NumberStyles.None, CultureInfo.InvariantCulture);
                if (!waiting.TryRemove(position, out var rowId)) throw new InvalidOperationException("Membership answered a row it was not asked about.");
                var (status, reason) = RecipientVerdict.Of(answer);
                outcomes.Add(new RecipientOutcome(position, rowId, status, reason));
            }

            await send(outcomes);
        }
    }
}
