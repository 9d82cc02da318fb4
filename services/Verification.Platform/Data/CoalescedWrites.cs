using System.Threading.Channels;
using Microsoft.Extensions.Hosting;

namespace Verification.Platform.Data;

/// <summary>One caller's write in <see cref="CoalescedWrites{TWrite, TResult}"/>: its answer, and the caller's cancellation (consulted only before its window begins).</summary>
public abstract record CoalescedWrite<TResult>(CancellationToken CallerGaveUp)
{
    public TaskCompletionSource<TResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Concurrent writes gathered into windows: under load the writes that arrive while others are being written go together
/// (one round trip, one commit); when idle a write goes alone on its caller's thread (no timer, nothing waits for a window
/// to fill). Each caller keeps its own answer and error: an outage fails the whole window (rolled back, so every retry is
/// safe), any other failure is settled write by write, so one write the database refuses fails only its own caller.
/// Membership's enrolments and KUR's claims and answers use it.
/// </summary>
public abstract class CoalescedWrites<TWrite, TResult>(int maxWindow, int concurrentWindows, string shuttingDown) : BackgroundService
    where TWrite : CoalescedWrite<TResult>
{
    // Writes being made now (windows and lone writes): while any is, a new write waits to join the next window.
    private int _inFlight;

    private readonly Channel<TWrite> _pending = Channel.CreateUnbounded<TWrite>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

    /// <summary>Writes one write alone and gives its answer.</summary>
    protected abstract Task<TResult> WriteAloneAsync(TWrite write, CancellationToken cancellationToken);

    /// <summary>Writes several together (one transaction) and answers each write's <see cref="CoalescedWrite{TResult}.Result"/>.</summary>
    protected abstract Task WriteTogetherAsync(List<TWrite> writes, CancellationToken cancellationToken);

    /// <summary>
    /// The write's answer. A caller that gives up once its window has begun does not stop it: the write may still commit,
    /// and a retry under the same key gets that answer.
    /// </summary>
    protected Task<TResult> SubmitAsync(TWrite write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        // Nothing in flight and nobody waiting: go alone on the caller's own thread, with no hop to a loop and back.
        if (Volatile.Read(ref _inFlight) == 0 && _pending.Reader.Count == 0) return AloneAsync(write, cancellationToken);
        if (!_pending.Writer.TryWrite(write)) throw new InvalidOperationException(shuttingDown);
        return write.Result.Task.WaitAsync(cancellationToken);
    }

    private async Task<TResult> AloneAsync(TWrite write, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            return await WriteAloneAsync(write, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, concurrentWindows).Select(_ => Task.Run(() => RunAsync(stoppingToken), stoppingToken)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        while (_pending.Reader.TryRead(out var left)) left.Result.TrySetCanceled(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var window = new List<TWrite>(maxWindow);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                window.Clear();
                Interlocked.Increment(ref _inFlight);
                try
                {
                    while (window.Count < maxWindow && _pending.Reader.TryRead(out var write)) window.Add(write);
                    await AnswerAsync(window, stoppingToken);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var write in window) write.Result.TrySetCanceled(stoppingToken);
        }
    }

    /// <summary>Answers one window: writes whose callers already gave up are dropped unwritten (answered CANCELLED), the rest settled.</summary>
    public async Task AnswerAsync(IReadOnlyList<TWrite> window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(window);
        var live = new List<TWrite>(window.Count);
        foreach (var write in window)
        {
            if (write.CallerGaveUp.IsCancellationRequested) write.Result.TrySetCanceled(write.CallerGaveUp);
            else live.Add(write);
        }

        if (live.Count > 0) await SettleWindowAsync(live, cancellationToken);
    }

    /// <summary>Settles a window's live writes; a module whose writes must not share a transaction splits them here.</summary>
    protected virtual Task SettleWindowAsync(List<TWrite> live, CancellationToken cancellationToken) => SettleAsync(live, cancellationToken);

    /// <summary>Writes the writes together (one alone), failing them all on an outage and settling them one by one on any other failure.</summary>
    protected async Task SettleAsync(List<TWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        try
        {
            if (writes.Count == 1) writes[0].Result.TrySetResult(await WriteAloneAsync(writes[0], cancellationToken));
            else await WriteTogetherAsync(writes, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (writes.Count == 1 || DatabaseOutageInterceptor.IsOutage(ex))
        {
            foreach (var write in writes) write.Result.TrySetException(ex);
        }
        catch (Exception)
        {
            foreach (var write in writes)
            {
                try
                {
                    write.Result.TrySetResult(await WriteAloneAsync(write, cancellationToken));
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    write.Result.TrySetException(ex);
                }
            }
        }
    }
}
