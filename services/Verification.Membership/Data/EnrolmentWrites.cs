using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Membership.Data;

/// <summary>
/// The rows a set of enrolments adds to the registry, with their events, and the persons already registered whose NIK
/// warnings grew: what an enrolment decided, for its store to save in its transaction.
/// </summary>
public sealed class EnrolmentWrites
{
    public List<ParticipantRecord> Participants { get; } = [];

    /// <summary>New coverages, each with its participant's id (the participant new here or already registered).</summary>
    public List<CoverageRecord> Coverages { get; } = [];

    public List<IdempotencyRecord> Answers { get; } = [];

    public List<OutboxMessage> Events { get; } = [];

    /// <summary>Participants whose NIK warnings changed (possibly ones new in this set, which are written whole anyway).</summary>
    public HashSet<ParticipantRecord> Warned { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Persons registered before this set whose warnings grew: their one changed column is updated, not inserted.</summary>
    public IEnumerable<ParticipantRecord> WarnedAlreadyRegistered()
    {
        var fresh = Participants.ToHashSet(ReferenceEqualityComparer.Instance);
        return Warned.Where(p => !fresh.Contains(p));
    }

    public void Event<TEvent>(TEvent integrationEvent) where TEvent : class, IIntegrationEvent =>
        Events.Add(OutboxDbContextExtensions.NewOutboxMessage(integrationEvent));

    /// <summary>Adds the new rows to the context; changed warnings of tracked participants are saved by change detection.</summary>
    public void AddTo(MembershipDbContext db)
    {
        db.Participants.AddRange(Participants);
        db.Coverages.AddRange(Coverages);
        db.IdempotencyRecords.AddRange(Answers);
        db.OutboxMessages.AddRange(OutboxEventGroup.Rows(Events));
    }
}
