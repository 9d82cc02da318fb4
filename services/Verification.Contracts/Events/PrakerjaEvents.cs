namespace Verification.Contracts.Events;

// No NIK: a batch holds millions of recipients; the input digest lets Audit prove which file was checked without copying it.
public sealed record PrakerjaBatchCompleted(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string BatchId,
    string Label,
    string[] Cohorts,
    long TotalRecipients,
    long Covered,
    long NotCovered,
    long InvalidNik,
    string InputDigest) : IIntegrationEvent;
