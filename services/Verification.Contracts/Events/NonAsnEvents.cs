namespace Verification.Contracts.Events;

// NIK sealed to the audit log's key: an agency registers staff by NIK and Audit must trace the registration by NIK; only
// Audit can open it, and it keeps a keyed hash. Everyone else sees the participant number and the masked form.
public sealed record NonAsnEmployeeRegistered(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string EmploymentId,
    string EmployerNumber,
    string ParticipantNumber,
    SealedNik SealedNik,
    string MaskedNik,
    string EmploymentKind,
    long MonthlyWage,
    DateTimeOffset EmployedFrom) : IIntegrationEvent;

// No NIK: the employment id and participant number identify the worker.
// EmployedUntil was added later: an UpdateEmployment that extends (or shortens) the contract publishes this event too,
// with the contract's new last day as 24:00 WIB in UTC (null: open-ended); the wages are then equal if only the end moved.
public sealed record NonAsnWageChanged(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string EmploymentId,
    string EmployerNumber,
    string ParticipantNumber,
    long PreviousMonthlyWage,
    long MonthlyWage,
    DateTimeOffset EffectiveFrom,
    DateTimeOffset? EmployedUntil = null) : IIntegrationEvent;

// No NIK: the employment id and participant number identify the worker.
public sealed record NonAsnEmploymentEnded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string EmploymentId,
    string EmployerNumber,
    string ParticipantNumber,
    DateTimeOffset EmployedUntil,
    string Reason) : IIntegrationEvent;
