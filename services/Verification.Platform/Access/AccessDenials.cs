using Google.Rpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Contracts.Events;
using Grpc.Core;
using Verification.Api;
using Verification.Platform.Outbox;

namespace Verification.Platform.Access;

/// <summary>Records a refused call as an <see cref="AccessDenied"/> event through the access store's outbox, so Audit logs every denial.</summary>
public sealed partial class AccessDenials(IServiceScopeFactory scopes, ILogger<AccessDenials> logger)
{
    /// <summary>Records the denial; call before throwing <see cref="Denied"/>. A scope check in a feature passes the resource it refused (never personal data).</summary>
    public async Task RecordAsync(ServerCallContext context, string reason, string resource, CancellationToken cancellationToken)
    {
        var member = context.MemberOrNull();
        var now = DateTimeOffset.UtcNow;
        var denied = new AccessDenied(
            Guid.CreateVersion7(now), now, context.CorrelationId(), member?.Code ?? "", "access",
            member?.Code ?? "", member?.Role.ToString() ?? "", context.Method, reason, resource);
        Log.Denied(logger, denied.MemberCode, denied.RpcMethod, reason);
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
        [LoggerMessage(EventId = 4030, Level = LogLevel.Warning, Message = "Access denied to {MemberCode} calling {Method}: {Reason}")]
        public static partial void Denied(ILogger logger, string memberCode, string method, string reason);
    }
}
