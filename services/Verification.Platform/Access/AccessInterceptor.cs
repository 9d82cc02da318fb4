using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Verification.Api;
using Verification.Platform.Rpc;

namespace Verification.Platform.Access;

/// <summary>
/// Every call but health: who is calling (client certificate, else bearer token), may their role call this
/// method, and are they within their rate. Denials are audited through <see cref="AccessDenials"/>.
/// </summary>
public sealed class AccessInterceptor : ServerCallInterceptor, IDisposable
{
    private readonly MemberDirectory _directory;
    private readonly AccessDenials _denials;
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ConcurrentDictionary<RpcMethod, MemberAccess> _methods = new();

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

    protected override async Task InterceptAsync(ServerCallContext context, Func<Task> next)
    {
        var method = RpcMethod.Of(context);
        var access = _methods.GetOrAdd(method, MemberAccess.For);
        if (access.Anonymous)
        {
            await next();
            return;
        }

        var credential = Authenticate(context);
        // An expired or revoked member's credential is refused like an unknown one, but audited under the member it belonged to.
        if (credential is MemberCredential.Refused refused) await _denials.RecordRefusedCredentialAsync(context, refused.Member, refused.ReasonCode, refused.Reason);
        var member = (credential as MemberCredential.Valid)?.Member
            ?? throw RpcErrors.WithDetails(StatusCode.Unauthenticated, "Missing or invalid credentials.",
                new ErrorInfo { Reason = "UNAUTHENTICATED", Domain = "verification.bpjsketenagakerjaan.go.id" });
        context.UserState[typeof(Member)] = member;

        if (context.GetHttpContext().Request.Headers[CallerContext.OnBehalfOfHeader].ToString() is { Length: > 0 } partner)
        {
            // Only the suite's own modules relay a partner's call; a partner naming another member would act as it.
            if (member.Role != MemberRole.InternalService || _directory.FindByCode(partner) is null)
            {
                await _denials.RecordAsync(context, "ON_BEHALF_OF_NOT_ALLOWED", $"role {member.Role} may not act on behalf of another member", DeniedResource.None, context.CancellationToken);
                throw AccessDenials.Denied("Only the suite's own modules may act on behalf of another member.", "ON_BEHALF_OF_NOT_ALLOWED");
            }

            context.ActOnBehalfOf(partner);
        }

        if (!access.AnyMember && !access.Roles.Contains(member.Role))
        {
            await _denials.RecordAsync(context, "ROLE_NOT_ALLOWED", $"role {member.Role} may not call this method", DeniedResource.None, context.CancellationToken);
            throw AccessDenials.Denied("Your member role may not call this method.", "ROLE_NOT_ALLOWED");
        }

        using var lease = _limiter.AttemptAcquire(member.Code);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMilliseconds(100);
            throw RpcErrors.RetryLater(StatusCode.ResourceExhausted, "Rate limit exceeded for this member; retry after the given delay.", retryAfter);
        }
        await next();
    }

    /// <summary>The member of the call's certificate, else of its bearer token, in the directory in force now.</summary>
    private MemberCredential Authenticate(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var byCertificate = http.Connection.ClientCertificate is { } certificate ? _directory.IdentifyCertificate(certificate) : MemberCredential.Unknown.Instance;
        if (byCertificate is MemberCredential.Valid) return byCertificate;
        string? authorization = http.Request.Headers.Authorization;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return byCertificate;
        var byToken = _directory.IdentifyToken(authorization["Bearer ".Length..].Trim());
        return byToken is MemberCredential.Unknown ? byCertificate : byToken;
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>What a method allows, read once from its endpoint metadata.</summary>
public sealed record MemberAccess(bool Anonymous, bool AnyMember, IReadOnlyList<MemberRole> Roles)
{
    public const string HealthService = "grpc.health.v1.Health";

    /// <summary>Only health answers without credentials: load balancers and probes have none.</summary>
    public static bool IsAnonymous(RpcMethod method) => method.ServiceName == HealthService;

    /// <summary>Reflection describes the API, not data: any authenticated member may use it.</summary>
    public static bool IsReflection(RpcMethod method) => method.ServiceName.StartsWith("grpc.reflection.", StringComparison.Ordinal);

    public static MemberAccess For(RpcMethod method)
    {
        if (IsAnonymous(method)) return new(true, false, []);
        if (IsReflection(method)) return new(false, true, []);
        return new(false, false, method.GetAttribute<RpcRolesAttribute>()?.Roles ?? []);
    }
}
