namespace Verification.Contracts.Events;

// NIK carried: this is the moment a NIK is bound to a participant number, and Audit (which keyed-hashes it) must find the enrolment by NIK.
public sealed record ParticipantEnrolled(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string ParticipantNumber,
    string Nik,
    string MaskedNik,
    string Segment,
    string Channel) : IIntegrationEvent;

// No NIK: the participant number already leads Audit back to the NIK through ParticipantEnrolled.
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
    DateTimeOffset CoveredFrom) : IIntegrationEvent;

// No NIK: the participant number already leads Audit back to the NIK through ParticipantEnrolled.
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
    string Reason) : IIntegrationEvent;
