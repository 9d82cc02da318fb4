namespace Verification.Contracts.Events;

// Rentan (vulnerable workers sponsored by local governments, Inpres 8/2025). MemberCode is the sponsor's member code,
// so Audit traces every event of a sponsor by it; AgreementId names the year's agreement (Audit's batch key); instants
// are UTC (a first day covered is 00:00 WIB, a last day 24:00 WIB). Money is whole rupiah.

// No NIK: a sponsor's registration or change by a BPJS administrator. Change is REGISTERED or CHANGED.
public sealed record RentanSponsorSaved(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string Name,
    string[] RegionCodes,
    string Change) : IIntegrationEvent;

// No NIK: an agreement registered or changed by a BPJS administrator. Change is REGISTERED or CHANGED; PreviousBudgetRupiah is 0 when registered.
public sealed record RentanAgreementSaved(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string AgreementId,
    long Year,
    long BudgetRupiah,
    long PreviousBudgetRupiah,
    string[] Programs,
    DateTimeOffset CoversFrom,
    DateTimeOffset CoversUntil,
    long DeclaredMonthlyIncomeRupiah,
    string Change) : IIntegrationEvent;

// No NIK: an upload of a DTSEN extract ended normally, making the extract of that date the sponsor's current one.
public sealed record RentanExtractUploaded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    DateTimeOffset ExtractDate,
    long Rows,
    long Accepted,
    long Rejected,
    long ExtractRows) : IIntegrationEvent;

// NIK sealed to the audit log's key (and masked): Audit must trace the enrolment by NIK (it opens the seal only to keyed-hash it).
public sealed record RentanWorkerEnrolled(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string AgreementId,
    string SponsorshipId,
    string ParticipantNumber,
    SealedNik SealedNik,
    string MaskedNik,
    long Decile,
    string RegencyCode,
    string[] Programs,
    long CommittedRupiah,
    DateTimeOffset CoveredFrom,
    DateTimeOffset CoveredUntil) : IIntegrationEvent;

// NIK sealed to the audit log's key (and masked): a worker refused for the budget has no participant number here, so only the NIK traces the refusal.
// Reason is BUDGET_EXHAUSTED; RequiredRupiah what the enrolment would have committed, RemainingRupiah what was left for it.
public sealed record RentanEnrolmentRefused(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string AgreementId,
    SealedNik SealedNik,
    string MaskedNik,
    long Decile,
    string Reason,
    long RequiredRupiah,
    long RemainingRupiah) : IIntegrationEvent;

// No NIK: the participant number leads Audit back to the NIK through the enrolment. The December update renewed the
// worker into the next year's agreement (AgreementId) and extended the coverage to CoveredUntil.
public sealed record RentanSponsorshipRenewed(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string AgreementId,
    string PreviousAgreementId,
    string SponsorshipId,
    string PreviousSponsorshipId,
    string ParticipantNumber,
    long Decile,
    long CommittedRupiah,
    DateTimeOffset CoveredUntil) : IIntegrationEvent;

// No NIK: the participant number leads Audit back to the NIK. The December update did not renew the worker: the
// coverage ends with the agreement (CoveredUntil). Reason: NOT_IN_EXTRACT, DECILE_NOT_ELIGIBLE, OUTSIDE_REGION,
// COVERED_AS_WAGE_EARNER, SPONSORED_ELSEWHERE, BUDGET_EXHAUSTED, NO_NEXT_AGREEMENT or COVERAGE_ENDED.
public sealed record RentanSponsorshipEnded(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string AgreementId,
    string SponsorshipId,
    string ParticipantNumber,
    string Reason,
    DateTimeOffset CoveredUntil) : IIntegrationEvent;
