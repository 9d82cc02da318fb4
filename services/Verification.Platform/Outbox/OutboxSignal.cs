using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;

namespace Verification.Platform.Outbox;

/// <summary>Wakes the relay of one module right after a commit, so events leave in milliseconds rather than a poll interval.</summary>
public sealed class OutboxSignal<TContext>
    where TContext : DbContext
{
    // Capacity one: any number of commits while the relay is busy collapse into one more round.
    private readonly Channel<bool> wakeups = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => wakeups.Writer.TryWrite(true);

    /// <summary>Returns when notified or when <paramref name="timeout"/> elapsed, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (wakeups.Reader.TryRead(out _))
        {
            return;
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await wakeups.Reader.WaitToReadAsync(timeoutSource.Token);
            wakeups.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval elapsed.
        }
    }
}
