namespace Verification.Contracts.Events;

/// <summary>
/// The audit log signed a tree head: for witnesses and monitors that follow the log's heads (it is not itself an entry
/// of the log, which would need a head of its own). Hashes and the signature as lowercase hex.
/// </summary>
public sealed record AuditTreeHeadSigned(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    long TreeSize,
    long TimestampMilliseconds,
    string RootHash,
    string Signature,
    string KeyId) : IIntegrationEvent;
