using System.Collections.Concurrent;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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

/// <summary>
/// Records a refused call as an <see cref="AccessDenied"/> event through the access store's outbox, so Audit logs every denial.
/// A flood cannot grow the log without bound: identical denials within <see cref="AccessOptions.DenialWindow"/> are recorded
/// once at once, and once more when the window closes with how many there were (<see cref="AccessDenied.SuppressedRepeats"/>).
/// </summary>
public sealed partial class AccessDenials(IServiceScopeFactory scopes, IOptions<AccessOptions> options, ILogger<AccessDenials> logger)
{
    private readonly ConcurrentDictionary<DenialKey, DenialWindow> _windows = new();

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
            Guid.CreateVersion7(now), now, context.CorrelationIdOf(member), acting, "access",
            member?.Code ?? "", member?.Role.ToString() ?? "", context.Method, reason, resource.ToString(),
            reasonCode, resource.BankCode, resource.LoanReference, resource.EmployerNumber, resource.BatchId, resource.ParticipantNumber,
            relayedBy);
        var key = new DenialKey(denied.MemberCode, denied.ActingMember, denied.RpcMethod, reasonCode, denied.Resource);
        AccessDenied? closed = null;
        while (true)
        {
            var window = _windows.GetOrAdd(key, _ => new DenialWindow(denied, now));
            lock (window)
            {
                // Flushed and dropped between GetOrAdd and the lock: take the dictionary's current window.
                if (window.Dropped) continue;
                if (ReferenceEquals(window.First, denied)) break;
                if (now - window.Opened < options.Value.DenialWindow)
                {
                    window.Suppressed++;
                    return;
                }
                // The window has passed: its count is recorded before this denial opens the next one.
                closed = window.Close(now);
                window.Reopen(denied, now);
                break;
            }
        }

        if (closed is not null) await WriteAsync(closed);
        Log.Denied(logger, denied.MemberCode, denied.RpcMethod, reasonCode, reason);
        await WriteAsync(denied);
    }

    /// <summary>Records the count of every window that has passed (with <paramref name="all"/>, of every window); called every second by <see cref="DenialWindowFlush"/>.</summary>
    public async Task FlushAsync(bool all)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (key, window) in _windows)
        {
            AccessDenied? closed;
            lock (window)
            {
                if (!all && now - window.Opened < options.Value.DenialWindow) continue;
                closed = window.Close(now);
                window.Dropped = true;
                _windows.TryRemove(KeyValuePair.Create(key, window));
            }
            if (closed is not null) await WriteAsync(closed);
        }
    }

    private async Task WriteAsync(AccessDenied denied)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AccessDbContext>();
        db.AddOutboxEvent(denied);
        // The denial must be recorded even when the caller has already gone away.
        await db.SaveChangesAsync(CancellationToken.None);
    }

    private sealed record DenialKey(string MemberCode, string ActingMember, string Method, string ReasonCode, string Resource);

    /// <summary>The first denial of a window, and how many identical ones followed it unrecorded.</summary>
    private sealed class DenialWindow(AccessDenied first, DateTimeOffset opened)
    {
        public AccessDenied First { get; private set; } = first;

        public DateTimeOffset Opened { get; private set; } = opened;

        public int Suppressed { get; set; }

        /// <summary>Removed from the dictionary by a flush; a denial holding it must look again.</summary>
        public bool Dropped { get; set; }

        /// <summary>The event standing for the unrecorded denials, or null when there were none.</summary>
        public AccessDenied? Close(DateTimeOffset now)
        {
            if (Suppressed == 0) return null;
            var closing = First with
            {
                EventId = Guid.CreateVersion7(now),
                OccurredAt = now,
                Reason = $"{First.Reason}; {Suppressed} identical denial(s) from {Opened:O} to {now:O}, recorded once",
                SuppressedRepeats = Suppressed,
            };
            Suppressed = 0;
            return closing;
        }

        public void Reopen(AccessDenied first, DateTimeOffset opened) => (First, Opened, Suppressed) = (first, opened, 0);
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

/// <summary>Closes passed denial windows every second, so a flood's count is audited even if the flood stops.</summary>
public sealed class DenialWindowFlush(AccessDenials denials) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken)) await denials.FlushAsync(all: false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Windows still open at shutdown are closed once more, so their counts are not lost.
        await denials.FlushAsync(all: true);
    }
}
