namespace Verification.Contracts.Events;

// NIK sealed to the audit log's key: Audit must find a bank's enrolment by NIK even when the outcome allocated no participant
// number; only Audit can open it, and it keeps a keyed hash. Everyone else sees the masked form.
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
    SealedNik SealedNik,
    string MaskedNik) : IIntegrationEvent;

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
