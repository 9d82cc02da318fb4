namespace Verification.Contracts.Events;

// SuppressedRepeats: identical denials (member, method, reason, resource) not recorded one by one inside the denial window;
// an event with it above 0 closes such a window and stands for that many more. No NIK: Resource names what was refused (a loan reference, employer number, batch id) and must never be a raw NIK.
public sealed record AccessDenied(
    Guid EventId,
    DateTimeOffset OccurredAt,
    string CorrelationId,
    string ActingMember,
    string SourceModule,
    string MemberCode,
    string Role,
    string RpcMethod,
    string Reason,
    string Resource,
    string ReasonCode = "",
    string? BankCode = null,
    string? LoanReference = null,
    string? EmployerNumber = null,
    string? BatchId = null,
    string? ParticipantNumber = null,
    string? RelayedBy = null,
    int SuppressedRepeats = 0) : IIntegrationEvent;
