using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.Platform.Outbox;

namespace Verification.Platform.Access;

/// <summary>What a refused call asked for, as the keys an auditor traces by; never personal data.</summary>
public sealed record DeniedResource(string? BankCode = null, string? LoanReference = null, string? EmployerNumber = null, string? BatchId = null, string? ParticipantNumber = null)
{
    public static readonly DeniedResource None = new();

    /// <summary>E.g. "bank 002, loan SIKP-1": the same keys in words, for logs and older readers.</summary>
    public override string ToString() => string.Join(", ", new[]
    {
        BankCode is null ? null : $"bank {BankCode}",
        LoanReference is null ? null : $"loan {LoanReference}",
        EmployerNumber is null ? null : $"employer {EmployerNumber}",
        BatchId is null ? null : $"batch {BatchId}",
        ParticipantNumber is null ? null : $"participant {ParticipantNumber}",
    }.OfType<string>());
}

/// <summary>Records a refused call as an <see cref="AccessDenied"/> event through the access store's outbox, so Audit logs every denial.</summary>
public sealed partial class AccessDenials(IServiceScopeFactory scopes, ILogger<AccessDenials> logger)
{
    /// <summary>
    /// Records the denial: who (the member, and the module that relayed the call when it came through one), which method,
    /// why (a stable reason code and words) and what it asked for. Call before throwing <see cref="Denied"/>.
    /// </summary>
    public async Task RecordAsync(ServerCallContext context, string reasonCode, string reason, DeniedResource resource, CancellationToken cancellationToken)
    {
        var member = context.MemberOrNull();
        await RecordAsync(context, member, member is null ? "" : context.ActingMemberCode(), member is null ? null : context.RelayedBy(), reasonCode, reason, resource);
    }

    /// <summary>
    /// Records a credential refused because its member expired or was revoked (<see cref="MemberCredential.Refused"/>): the caller
    /// is not authenticated, but the event names the member the credential belonged to, so an auditor sees who kept calling.
    /// </summary>
    public Task RecordRefusedCredentialAsync(ServerCallContext context, Member formerMember, string reasonCode, string reason) =>
        RecordAsync(context, formerMember, formerMember.Code, relayedBy: null, reasonCode, reason, DeniedResource.None);

    private async Task RecordAsync(ServerCallContext context, Member? member, string acting, string? relayedBy, string reasonCode, string reason, DeniedResource resource)
    {
        var now = DateTimeOffset.UtcNow;
        var denied = new AccessDenied(
            Guid.CreateVersion7(now), now, context.CorrelationId(), acting, "access",
            member?.Code ?? "", member?.Role.ToString() ?? "", context.Method, reason, resource.ToString(),
            reasonCode, resource.BankCode, resource.LoanReference, resource.EmployerNumber, resource.BatchId, resource.ParticipantNumber,
            relayedBy);
        Log.Denied(logger, denied.MemberCode, denied.RpcMethod, reasonCode, reason);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AccessDbContext>();
        db.AddOutboxEvent(denied);
        // The denial must be recorded even when the caller has already gone away.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>PERMISSION_DENIED with an ErrorInfo reason a client can branch on.</summary>
    public static RpcException Denied(string message, string reason) =>
        RpcErrors.WithDetails(StatusCode.PermissionDenied, message, new ErrorInfo { Reason = reason, Domain = "verification.bpjsketenagakerjaan.go.id" });

    private static partial class Log
    {
        [LoggerMessage(EventId = 4030, Level = LogLevel.Warning, Message = "Access denied to {MemberCode} calling {Method}: {ReasonCode} ({Reason})")]
        public static partial void Denied(ILogger logger, string memberCode, string method, string reasonCode, string reason);
    }
}
