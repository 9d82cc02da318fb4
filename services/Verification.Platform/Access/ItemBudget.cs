using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Verification.Api;

namespace Verification.Platform.Access;

/// <summary>
/// Limits on work, not calls: batch and streaming methods charge each item (a NIK, a row, a recipient) to the calling
/// member's item budget. Over it, the call waits for tokens (back-pressure: the stream slows, no row is dropped); a wait
/// longer than <see cref="AccessOptions.MaxItemWait"/> ends the call RESOURCE_EXHAUSTED with the real RetryInfo.
/// </summary>
public sealed class ItemBudget(AdmissionBuckets buckets, IOptions<AccessOptions> options)
{
    /// <summary>What an over-budget answer says became of the earlier items, unless the method says otherwise.</summary>
    public const string EarlierItemsAnswered = "the items before this message were answered. Send the rest after the given delay.";

    public Task ChargeAsync(ServerCallContext context, int items, CancellationToken cancellationToken) =>
        ChargeAsync(context, items, EarlierItemsAnswered, cancellationToken);

    /// <param name="earlierItems">What became of the items before this charge, said in the RESOURCE_EXHAUSTED answer.</param>
    public async Task ChargeAsync(ServerCallContext context, int items, string earlierItems, CancellationToken cancellationToken)
    {
        var member = context.Member();
        // A module relaying a partner's work was charged for it where the partner called; charging again would count it twice.
        if (member.Role == MemberRole.InternalService || items <= 0) return;
        var limits = options.Value;
        var rate = Math.Max(1, member.Limits?.ItemsPerSecond ?? limits.ItemsPerSecond);
        var burst = Math.Max(1, member.Limits?.ItemBurst ?? limits.ItemBurst);
        var waited = TimeSpan.Zero;
        var left = items;
        while (left > 0)
        {
            var piece = Math.Min(left, burst);
            if (buckets.TryTake("items:" + member.Code, piece, rate, burst) is not { } wait)
            {
                left -= piece;
                continue;
            }
            if (waited + wait > limits.MaxItemWait)
                throw RpcErrors.RetryLater(StatusCode.ResourceExhausted,
                    $"This member's item budget ({rate} items per second) is spent; {earlierItems}", wait);
            await Task.Delay(wait, cancellationToken);
            waited += wait;
        }
    }

    /// <summary>
    /// <paramref name="messages"/> with each message's items (<paramref name="items"/>) charged before it is handed on, so the
    /// feature reading them is slowed by the budget, and a wait over the longest one ends its reading with RESOURCE_EXHAUSTED.
    /// </summary>
    public async IAsyncEnumerable<T> Charged<T>(
        IAsyncEnumerable<T> messages, Func<T, int> items, ServerCallContext context, string earlierItems, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var message in messages.WithCancellation(cancellationToken))
        {
            await ChargeAsync(context, items(message), earlierItems, cancellationToken);
            yield return message;
        }
    }
}
