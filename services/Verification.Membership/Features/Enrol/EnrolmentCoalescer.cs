using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Verification.Membership.Data;
using Verification.Platform.Data;

namespace Verification.Membership.Features.Enrol;

/// <summary>
/// Answers single enrolments (EnrollParticipant) by coalescing whatever is waiting into one transaction of set-based
/// statements (<see cref="ParticipantEnrolment.EnrolManyAsync"/>): under load the callers that arrive while others are
/// being written share one lookup, one insert per table and one commit; when idle a call goes straight through alone on
/// its own thread (no timer, nothing waits for a batch to fill), on the single enrolment's three-round-trip path. Each
/// caller keeps its own answer, idempotency and error.
/// </summary>
public sealed class EnrolmentCoalescer(ParticipantEnrolment enrolment, RegistryStore store) : BackgroundService
{
    /// <summary>Most enrolments one coalesced transaction carries: enough to cover every caller in flight at 64 callers.</summary>
    public const int MaxBatch = 128;

    // Enrolments being written now (windows and lone callers): while any is, a new caller waits to join the next window.
    private int _inFlight;

    private readonly Channel<Waiter> _pending = Channel.CreateUnbounded<Waiter>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

    /// <summary>
    /// Enrols as <see cref="ParticipantEnrolment.EnrolAsync"/> would. A caller that gives up after its batch started does not
    /// stop the batch: its enrolment may still commit, and its retry under the same key gets that answer.
    /// </summary>
    public Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        // Nothing in flight and nobody waiting: go alone on the caller's own thread, with no hop to a loop and back.
        if (Volatile.Read(ref _inFlight) == 0 && _pending.Reader.Count == 0) return EnrolAloneAsync(command, cancellationToken);
        var waiter = Waiter.For(command, cancellationToken);
        if (!_pending.Writer.TryWrite(waiter)) throw new InvalidOperationException("The registry is shutting down.");
        return waiter.Result.Task.WaitAsync(cancellationToken);
    }

    private async Task<EnrolmentResult> EnrolAloneAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            return await enrolment.EnrolAsync(command, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, store.ConcurrentEnrolments).Select(_ => Task.Run(() => RunAsync(stoppingToken), stoppingToken)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        while (_pending.Reader.TryRead(out var left)) left.Result.TrySetCanceled(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Waiter>(MaxBatch);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                Interlocked.Increment(ref _inFlight);
                try
                {
                    while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var waiter)) batch.Add(waiter);
                    await AnswerAsync(batch, stoppingToken);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var waiter in batch) waiter.Result.TrySetCanceled(stoppingToken);
        }
    }

    /// <summary>
    /// Answers one window of waiters: those whose callers already gave up are dropped unwritten, the rest are enrolled one
    /// transaction per member (idempotency keys are per member). A database outage fails every waiter of the transaction
    /// (it rolled back: nothing half-written; the caller's retry is safe); any other failure is settled enrolment by
    /// enrolment, so one row the database refuses fails only its own caller.
    /// </summary>
    internal async Task AnswerAsync(IReadOnlyList<Waiter> batch, CancellationToken cancellationToken)
    {
        var live = batch.Where(w => !Abandoned(w)).ToList();
        foreach (var group in live.GroupBy(w => w.Command.MemberCode, StringComparer.Ordinal))
        {
            var waiters = group.ToList();
            try
            {
                if (waiters.Count == 1)
                {
                    waiters[0].Result.TrySetResult(await enrolment.EnrolAsync(waiters[0].Command, cancellationToken));
                    continue;
                }

                var results = await enrolment.EnrolManyAsync([.. waiters.Select(w => w.Command)], cancellationToken);
                for (var i = 0; i < waiters.Count; i++) waiters[i].Result.TrySetResult(results[i]);
            }
            catch (Exception ex) when (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (waiters.Count == 1 || DatabaseOutageInterceptor.IsOutage(ex))
            {
                foreach (var waiter in waiters) waiter.Result.TrySetException(ex);
            }
            catch (Exception)
            {
                await SettleOneByOneAsync(waiters, cancellationToken);
            }
        }
    }

    private async Task SettleOneByOneAsync(List<Waiter> waiters, CancellationToken cancellationToken)
    {
        foreach (var waiter in waiters)
        {
            try
            {
                waiter.Result.TrySetResult(await enrolment.EnrolAsync(waiter.Command, cancellationToken));
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                waiter.Result.TrySetException(ex);
            }
        }
    }

    /// <summary>True (and the waiter answered CANCELLED) when its caller gave up before its batch began: nothing is written for it.</summary>
    private static bool Abandoned(Waiter waiter)
    {
        if (!waiter.CallerGaveUp.IsCancellationRequested) return false;
        waiter.Result.TrySetCanceled(waiter.CallerGaveUp);
        return true;
    }

    /// <summary>One caller's enrolment, its answer, and the caller's cancellation (only consulted before the batch begins).</summary>
    internal sealed record Waiter(EnrolmentCommand Command, TaskCompletionSource<EnrolmentResult> Result, CancellationToken CallerGaveUp)
    {
        public static Waiter For(EnrolmentCommand command, CancellationToken callerGaveUp = default) =>
            new(command, new TaskCompletionSource<EnrolmentResult>(TaskCreationOptions.RunContinuationsAsynchronously), callerGaveUp);
    }
}
