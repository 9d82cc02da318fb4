namespace Verification.Contracts.Events;

// NIK carried: Audit must find a bank's enrolment by NIK even when the outcome allocated no participant number; Audit hashes it.
public sealed record KurBorrowerEnrolled(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string Outcome,
    string BankCode,
    string Scheme,
    string LoanReference,
    string? ParticipantNumber,
    string Nik) : IIntegrationEvent;

// No NIK: the loan reference and participant number identify the enrolment being cancelled.
public sealed record KurEnrolmentCancelled(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string BankCode,
    string LoanReference,
    string? ParticipantNumber,
    string Reason) : IIntegrationEvent;
