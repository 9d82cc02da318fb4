using Verification.Membership.Data;
using Verification.Platform.Data;

namespace Verification.Membership.Features.Enrol;

/// <summary>
/// Answers single enrolments (EnrollParticipant) by coalescing whatever is waiting into one transaction of set-based
/// statements (<see cref="ParticipantEnrolment.EnrolManyAsync"/>): under load the callers that arrive while others are
/// being written share one lookup, one insert per table and one commit; when idle a call goes straight through alone on
/// its own thread, on the single enrolment's three-round-trip path. Each caller keeps its own answer, idempotency and error.
/// </summary>
public sealed class EnrolmentCoalescer(ParticipantEnrolment enrolment, RegistryStore store)
    : CoalescedWrites<EnrolmentCoalescer.Waiter, EnrolmentResult>(MaxBatch, store.ConcurrentEnrolments, "The registry is shutting down.")
{
    /// <summary>Most enrolments one coalesced transaction carries: enough to cover every caller in flight at 64 callers.</summary>
    public const int MaxBatch = 128;

    /// <summary>
    /// Enrols as <see cref="ParticipantEnrolment.EnrolAsync"/> would. A caller that gives up after its batch started does not
    /// stop the batch: its enrolment may still commit, and its retry under the same key gets that answer.
    /// </summary>
    public Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command, CancellationToken cancellationToken) =>
        SubmitAsync(Waiter.For(command, cancellationToken), cancellationToken);

    protected override Task<EnrolmentResult> WriteAloneAsync(Waiter write, CancellationToken cancellationToken) =>
        enrolment.EnrolAsync(write.Command, cancellationToken);

    protected override async Task WriteTogetherAsync(List<Waiter> writes, CancellationToken cancellationToken)
    {
        var results = await enrolment.EnrolManyAsync([.. writes.Select(w => w.Command)], cancellationToken);
        for (var i = 0; i < writes.Count; i++) writes[i].Result.TrySetResult(results[i]);
    }

    /// <summary>One transaction per member: idempotency keys are per member.</summary>
    protected override async Task SettleWindowAsync(List<Waiter> live, CancellationToken cancellationToken)
    {
        foreach (var group in live.GroupBy(w => w.Command.MemberCode, StringComparer.Ordinal))
            await SettleAsync([.. group], cancellationToken);
    }

    /// <summary>One caller's enrolment, its answer, and the caller's cancellation (only consulted before the batch begins).</summary>
    public sealed record Waiter(EnrolmentCommand Command, CancellationToken CallerGaveUp) : CoalescedWrite<EnrolmentResult>(CallerGaveUp)
    {
        public static Waiter For(EnrolmentCommand command, CancellationToken callerGaveUp = default) => new(command, callerGaveUp);
    }
}
