namespace Verification.Platform.Access;

/// <summary>
/// A call refused for its caller's rate is answered after a pause (<see cref="AccessOptions.RefusalDelay"/>), not at once:
/// a client that ignores RetryInfo then gets its refusals only as fast as its streams come back, instead of making the
/// host refuse tens of thousands of calls a second at everyone else's cost. At most <see cref="AccessOptions.MaxHeldRefusals"/>
/// refusals of one caller wait at a time, so the pause cannot be turned into a way of holding the host's memory.
/// </summary>
public sealed class RefusalPause(TimeProvider time)
{
    // Answered this long before the caller's deadline, so it still reads RESOURCE_EXHAUSTED and its RetryInfo.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);

    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);

    /// <summary>Waits out the pause for <paramref name="caller"/> (a member or address key); returns at once when too many of the caller's refusals already wait.</summary>
    public async Task WaitAsync(string caller, TimeSpan delay, int maxHeld, DateTime deadline, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero || maxHeld <= 0) return;
        if (deadline != DateTime.MaxValue)
        {
            var left = deadline - time.GetUtcNow().UtcDateTime - DeadlineMargin;
            if (left < delay) delay = left;
            if (delay <= TimeSpan.Zero) return;
        }

        lock (_held)
        {
            var waiting = _held.GetValueOrDefault(caller);
            if (waiting >= maxHeld) return;
            _held[caller] = waiting + 1;
        }

        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The caller gave up: the refusal is answered now (gRPC drops it for a cancelled call).
        }
        finally
        {
            lock (_held)
            {
                // The entry goes with its last waiter: one per address would otherwise stay for every address ever refused.
                if (_held[caller] == 1) _held.Remove(caller);
                else _held[caller]--;
            }
        }
    }

    /// <summary>Refusals waiting now, all callers together (for tests and metrics).</summary>
    public int Waiting
    {
        get
        {
            lock (_held) return _held.Values.Sum();
        }
    }
}
