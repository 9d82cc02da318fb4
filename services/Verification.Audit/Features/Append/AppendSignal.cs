using System.Threading.Channels;

namespace Verification.Audit.Features.Append;

/// <summary>Wakes the appender when a consumer in this process has queued an event, so entries appear in milliseconds.</summary>
public sealed class AppendSignal
{
    // Capacity one: any number of inserts while the appender is busy collapse into one more round.
    private readonly Channel<bool> _wakeups = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => _wakeups.Writer.TryWrite(true);

    /// <summary>Returns when notified or after <paramref name="timeout"/>, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_wakeups.Reader.TryRead(out _))
        {
            return;
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await _wakeups.Reader.WaitToReadAsync(timeoutSource.Token);
            _wakeups.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The timeout elapsed.
        }
    }
}
