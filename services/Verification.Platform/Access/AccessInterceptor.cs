using System.Collections.Concurrent;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Verification.Api;
using Verification.Platform.Rpc;

namespace Verification.Platform.Access;

/// <summary>
/// Every call but health passes one admission step before any work: who is calling (client certificate, else bearer
/// token), then a rate token (the member's, or the client address's when the credentials are missing or refused), then
/// may their role call this method. Denials count against the rate, and are audited through <see cref="AccessDenials"/>.
/// </summary>
public sealed class AccessInterceptor(MemberDirectory directory, AccessDenials denials, AdmissionBuckets buckets, RefusalPause pause, IOptions<AccessOptions> options) : ServerCallInterceptor
{
    private readonly ConcurrentDictionary<RpcMethod, MemberAccess> _methods = new();

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
        if (credential is not MemberCredential.Valid { Member: var member })
        {
            // A stranger is throttled by address, so a flood of bad or refused credentials costs a token per call like anyone's.
            var limits = options.Value;
            var address = AdmissionBuckets.AddressKey(context);
            if (buckets.TryTake(address, 1, Math.Max(1, limits.UnauthenticatedRatePerSecond), Math.Max(1, limits.UnauthenticatedBurst)) is { } wait)
            {
                await PauseAsync(address, context);
                throw RpcErrors.RetryLater(StatusCode.ResourceExhausted, "Too many calls without valid credentials from this address; retry after the given delay.", wait);
            }

            // An expired or revoked member's credential is refused like an unknown one, but audited under the member it belonged to.
            if (credential is MemberCredential.Refused refused) await denials.RecordRefusedCredentialAsync(context, refused.Member, refused.ReasonCode, refused.Reason);
            throw RpcErrors.WithDetails(StatusCode.Unauthenticated, "Missing or invalid credentials.",
                new ErrorInfo { Reason = "UNAUTHENTICATED", Domain = "verification.bpjsketenagakerjaan.go.id" });
        }
        context.UserState[typeof(Member)] = member;

        // The portal acting for a signed-in member: from here on the call is that member's (roles, scope, rate, denials).
        if (context.GetHttpContext().Request.Headers[MemberDelegation.Header].ToString() is { Length: > 0 } assertion)
        {
            member = await DelegatedMemberAsync(context, member, assertion);
            context.UserState[typeof(Member)] = member;
        }

        // Before authorization: a denied call costs a token too, so a denial flood is throttled like any other.
        if (TakeCalls(member, 1) is { } retryAfter)
        {
            await PauseAsync(MemberKey(member), context);
            throw RpcErrors.RetryLater(StatusCode.ResourceExhausted, "Rate limit exceeded for this member; retry after the given delay.", retryAfter);
        }

        if (context.GetHttpContext().Request.Headers[CallerContext.OnBehalfOfHeader].ToString() is { Length: > 0 } partner)
        {
            // Only the suite's own modules relay a partner's call; a partner naming another member would act as it.
            if (member.Role != MemberRole.InternalService || directory.FindByCode(partner) is null)
            {
                await TakeDenialAsync(member, context);
                await denials.RecordAsync(context, "ON_BEHALF_OF_NOT_ALLOWED", $"role {member.Role} may not act on behalf of another member", DeniedResource.None, context.CancellationToken);
                throw AccessDenials.Denied("Only the suite's own modules may act on behalf of another member.", "ON_BEHALF_OF_NOT_ALLOWED");
            }

            context.ActOnBehalfOf(partner);
        }

        if (access.Reflection && !options.Value.ReflectionRoles.Contains(member.Role))
        {
            await TakeDenialAsync(member, context);
            await denials.RecordAsync(context, "ROLE_NOT_ALLOWED", $"role {member.Role} may not use server reflection", DeniedResource.None, context.CancellationToken);
            throw AccessDenials.Denied("Your member role may not use server reflection; the API is described in the published protos.", "ROLE_NOT_ALLOWED");
        }

        if (!access.AnyMember && !access.Roles.Contains(member.Role))
        {
            await TakeDenialAsync(member, context);
            await denials.RecordAsync(context, "ROLE_NOT_ALLOWED", $"role {member.Role} may not call this method", DeniedResource.None, context.CancellationToken);
            throw AccessDenials.Denied("Your member role may not call this method.", "ROLE_NOT_ALLOWED");
        }

        await next();
    }

    /// <summary>
    /// The member a portal's assertion names, once the caller is a portal, the assertion is its own, signed, for this method and
    /// live, and the member is one a portal may act for. Every refusal is audited: under the caller, or under the named member
    /// when its access has expired (then UNAUTHENTICATED, as its own expired credential would be).
    /// </summary>
    private async Task<Member> DelegatedMemberAsync(ServerCallContext context, Member caller, string assertion)
    {
        if (caller.Role != MemberRole.Portal)
            throw await RefuseDelegationAsync(context, caller, "DELEGATION_NOT_ALLOWED", $"role {caller.Role} may not act for another member by delegation",
                "Only the partner portal may act for a member by delegation.");
        var check = MemberDelegation.Check(assertion, caller.Code, directory.DelegationKeysOf(caller.Code), context.Method, DateTimeOffset.UtcNow);
        if (check is DelegationCheck.Refused refusedCheck)
            throw await RefuseDelegationAsync(context, caller, "DELEGATION_INVALID", refusedCheck.Reason, "The delegation is not valid.");
        var claim = ((DelegationCheck.Accepted)check).Claim;
        switch (directory.IdentifyCode(claim.Member))
        {
            case MemberCredential.Valid { Member: { Role: not (MemberRole.InternalService or MemberRole.Portal) } acting }:
                context.ActThroughPortal(caller.Code);
                return acting;
            case MemberCredential.Valid:
                throw await RefuseDelegationAsync(context, caller, "DELEGATION_NOT_ALLOWED", "the delegation names a member no portal may act for",
                    "The portal may not act for that member.");
            case MemberCredential.Refused refused:
                await denials.RecordRefusedCredentialAsync(context, refused.Member, refused.ReasonCode, refused.Reason);
                throw RpcErrors.WithDetails(StatusCode.Unauthenticated, "Missing or invalid credentials.",
                    new ErrorInfo { Reason = "UNAUTHENTICATED", Domain = "verification.bpjsketenagakerjaan.go.id" });
            default:
                throw await RefuseDelegationAsync(context, caller, "DELEGATION_UNKNOWN_MEMBER", "the delegation names no member of the members file",
                    "The delegation names no member.");
        }
    }

    /// <summary>Audits a refused delegation under the caller, after it takes one of the caller's denial tokens like any other denial.</summary>
    private async Task<RpcException> RefuseDelegationAsync(ServerCallContext context, Member caller, string reasonCode, string reason, string message)
    {
        await TakeDenialAsync(caller, context);
        await denials.RecordAsync(context, reasonCode, reason, DeniedResource.None, context.CancellationToken);
        return AccessDenials.Denied(message, reasonCode);
    }

    /// <summary>Takes <paramref name="calls"/> of the member's call tokens (its own rate from the members file, else the default); null when taken.</summary>
    private TimeSpan? TakeCalls(Member member, int calls)
    {
        var rate = member.Limits?.RatePerSecond ?? options.Value.RatePerSecond;
        var burst = member.Limits?.Burst ?? options.Value.Burst;
        return buckets.TryTake(MemberKey(member), calls, Math.Max(1, rate), Math.Max(1, burst));
    }

    private static string MemberKey(Member member) => "member:" + member.Code;

    /// <summary>A denial takes one of the member's few denial tokens before it is audited; out of them, the call is throttled instead.</summary>
    private async Task TakeDenialAsync(Member member, ServerCallContext context)
    {
        var limits = options.Value;
        if (buckets.TryTake("denials:" + member.Code, 1, Math.Max(1, limits.DeniedCallsPerSecond), Math.Max(1, limits.DeniedCallsBurst)) is not { } wait) return;
        await PauseAsync(MemberKey(member), context);
        throw RpcErrors.RetryLater(StatusCode.ResourceExhausted, "Too many denied calls from this member; retry after the given delay.", wait);
    }

    private Task PauseAsync(string caller, ServerCallContext context) =>
        pause.WaitAsync(caller, options.Value.RefusalDelay, options.Value.MaxHeldRefusals, context.Deadline, context.CancellationToken);

    /// <summary>The member of the call's certificate, else of its bearer token, in the directory in force now.</summary>
    private MemberCredential Authenticate(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var byCertificate = http.Connection.ClientCertificate is { } certificate ? directory.IdentifyCertificate(certificate) : MemberCredential.Unknown.Instance;
        if (byCertificate is MemberCredential.Valid) return byCertificate;
        string? authorization = http.Request.Headers.Authorization;
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return byCertificate;
        var byToken = directory.IdentifyToken(authorization["Bearer ".Length..].Trim());
        return byToken is MemberCredential.Unknown ? byCertificate : byToken;
    }
}

/// <summary>What a method allows, read once from its endpoint metadata.</summary>
public sealed record MemberAccess(bool Anonymous, bool AnyMember, IReadOnlyList<MemberRole> Roles, bool Reflection = false)
{
    public const string HealthService = "grpc.health.v1.Health";

    /// <summary>Only health answers without credentials: load balancers and probes have none.</summary>
    public static bool IsAnonymous(RpcMethod method) => method.ServiceName == HealthService;

    /// <summary>Reflection describes the API, not data: the roles of <see cref="AccessOptions.ReflectionRoles"/> may use it.</summary>
    public static bool IsReflection(RpcMethod method) => method.ServiceName.StartsWith("grpc.reflection.", StringComparison.Ordinal);

    public static MemberAccess For(RpcMethod method)
    {
        if (IsAnonymous(method)) return new(true, false, []);
        if (IsReflection(method)) return new(false, true, [], Reflection: true);
        return new(false, false, method.GetAttribute<RpcRolesAttribute>()?.Roles ?? []);
    }
}
