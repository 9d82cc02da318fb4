namespace Verification.Contracts.Events;

// ActingMember is the partner whose call caused the change, also when a module relayed it; RelayedBy names that module
// (e.g. "kur") and is null for a module's own calls.

// NIK sealed to the audit log's key: this is the moment a NIK is bound to a participant number, and Audit (which keeps a keyed
// hash) must find the enrolment by NIK; only Audit can open it.
public sealed record ParticipantEnrolled(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string ParticipantNumber,
    SealedNik SealedNik,
    string MaskedNik,
    string Segment,
    string Channel,
    string? RelayedBy = null) : IIntegrationEvent;

// No NIK: the participant number already leads Audit back to the NIK through ParticipantEnrolled.
// Channel (EMPLOYER, KUR, LOCAL_GOVERNMENT) and ChannelReference (bank or region code) were added later, so Audit can
// trace coverage without an employer to the bank or local government that brought it. Instants are UTC: CoveredFrom is
// 00:00 WIB of the first day covered; CoveredUntil, set when the end was known at the start (a contract), 24:00 WIB of the last.
public sealed record CoverageStarted(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string ParticipantNumber,
    string[] Programs,
    string Segment,
    string? EmployerNumber,
    DateTimeOffset CoveredFrom,
    string? Channel = null,
    string? ChannelReference = null,
    DateTimeOffset? CoveredUntil = null,
    string? RelayedBy = null) : IIntegrationEvent;

// No NIK: the participant number already leads Audit back to the NIK through ParticipantEnrolled.
// CoveredUntil is 24:00 WIB of the last day covered, in UTC; Channel and ChannelReference as in CoverageStarted.
public sealed record CoverageEnded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string ParticipantNumber,
    string[] Programs,
    string? EmployerNumber,
    DateTimeOffset CoveredUntil,
    string Reason,
    string? Channel = null,
    string? ChannelReference = null,
    string? RelayedBy = null) : IIntegrationEvent;
