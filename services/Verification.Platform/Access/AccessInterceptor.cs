using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Google.Rpc;
using Microsoft.Extensions.Options;
using Verification.Rpc;
using Verification.Rpc.Server;
using Verification.Rpc.Services;

namespace Verification.Platform.Access;

/// <summary>
/// Every call but health: who is calling (client certificate, else bearer token), may their role call this
/// method, and are they within their rate. Denials are audited through <see cref="AccessDenials"/>.
/// </summary>
public sealed class AccessInterceptor : IServerInterceptor, IDisposable
{
    private readonly MemberDirectory _directory;
    private readonly AccessDenials _denials;
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ConcurrentDictionary<RpcMethodInfo, MethodAccess> _methods = new();

    public AccessInterceptor(MemberDirectory directory, AccessDenials denials, IOptions<AccessOptions> options)
    {
        _directory = directory;
        _denials = denials;
        var rate = Math.Max(1, options.Value.RatePerSecond);
        var burst = Math.Max(1, options.Value.Burst);
        _limiter = PartitionedRateLimiter.Create<string, string>(code => RateLimitPartition.GetTokenBucketLimiter(code, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = Math.Max(1, rate / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public async Task InterceptAsync(ServerCallContext context, RpcContinuation next)
    {
        var access = _methods.GetOrAdd(context.Method, MethodAccess.For);
        if (access.Anonymous)
        {
            await next(context);
            return;
        }

        var member = Authenticate(context)
            ?? throw RpcException.WithDetails(StatusCode.Unauthenticated, "Missing or invalid credentials.",
                new ErrorInfo { Reason = "UNAUTHENTICATED", Domain = "verification.bpjsketenagakerjaan.go.id" });
        context.Items[typeof(Member)] = member;

        if (!access.AnyMember && !access.Roles.Contains(member.Role))
        {
            await _denials.RecordAsync(context, $"role {member.Role} may not call this method", "", context.CancellationToken);
            throw AccessDenials.Denied("Your member role may not call this method.", "ROLE_NOT_ALLOWED");
        }

        using var lease = _limiter.AttemptAcquire(member.Code);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMilliseconds(100);
            throw RpcException.RetryLater(StatusCode.ResourceExhausted, "Rate limit exceeded for this member; retry after the given delay.", retryAfter);
        }
        await next(context);
    }

    private Member? Authenticate(ServerCallContext context)
    {
        if (context.PeerCertificate is { } certificate && _directory.FindByCertificate(certificate) is { } byCertificate)
            return byCertificate;
        // Straight from the HTTP headers: building the call's full metadata for one value costs on every call.
        string? authorization = context.GetHttpContext().Request.Headers.Authorization;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        return _directory.FindByToken(authorization["Bearer ".Length..].Trim());
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>What a method allows, read once from its attributes.</summary>
    private sealed record MethodAccess(bool Anonymous, bool AnyMember, IReadOnlyList<MemberRole> Roles)
    {
        public static MethodAccess For(RpcMethodInfo method)
        {
            if (method.GetAttribute<AllowAnonymousRpcAttribute>() is not null) return new(true, false, []);
            // Reflection describes the API, not data: any authenticated member may use it.
            if (method.ServiceName.StartsWith("grpc.reflection.", StringComparison.Ordinal)) return new(false, true, []);
            var roles = method.GetAttribute<RpcRolesAttribute>()?.Roles ?? [];
            return new(false, false, roles);
        }
    }

    /// <summary>Start-up check: every method other than health and reflection declares its roles, so nothing is open by omission.</summary>
    public static void EnsureRolesDeclared(RpcServiceRegistry registry)
    {
        var undeclared = registry.Methods
            .Where(m => m.GetAttribute<AllowAnonymousRpcAttribute>() is null && !m.ServiceName.StartsWith("grpc.reflection.", StringComparison.Ordinal))
            .Where(m => m.GetAttribute<RpcRolesAttribute>() is not { Roles.Count: > 0 })
            .Select(m => m.FullName)
            .ToList();
        if (undeclared.Count > 0)
            throw new InvalidOperationException($"These RPCs declare no [RpcRoles]: {string.Join(", ", undeclared)}");
    }
}
