using System.Diagnostics;
using Grpc.Core;

namespace Verification.Platform.Access;

/// <summary>Who is calling, as established by <see cref="AccessInterceptor"/>.</summary>
public static class CallerContext
{
    private const string CorrelationHeader = "x-correlation-id";

    /// <summary>Set by a module calling another while serving a partner: the partner's member code. Only the internal-service member may send it.</summary>
    public const string OnBehalfOfHeader = "x-verification-on-behalf-of";

    /// <summary>Beside <see cref="OnBehalfOfHeader"/>: the module that relayed the partner's call, e.g. "kur".</summary>
    public const string RelayedByHeader = "x-verification-relayed-by";

    private static readonly object OnBehalfOfKey = new();

    private static readonly object DelegatedByKey = new();

    /// <summary>The authenticated member; only anonymous RPCs (health) have none.</summary>
    public static Member Member(this ServerCallContext context) =>
        context.MemberOrNull() ?? throw new InvalidOperationException($"{context.Method} has no authenticated member.");

    /// <summary>The authenticated member, or null before authentication (or on health).</summary>
    public static Member? MemberOrNull(this ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(Member), out var member) ? member as Member : null;

    /// <summary>The member an event of this call is recorded as acting for: the partner a module relayed, else the caller.</summary>
    public static string ActingMemberCode(this ServerCallContext context) =>
        context.UserState.TryGetValue(OnBehalfOfKey, out var partner) && partner is string code ? code : context.Member().Code;

    /// <summary>The portal member that made this call for the member by delegation (<see cref="MemberDelegation"/>), or null.</summary>
    public static string? DelegatedBy(this ServerCallContext context) =>
        context.UserState.TryGetValue(DelegatedByKey, out var portal) ? portal as string : null;

    /// <summary>Marks this call as made by <paramref name="portalCode"/> for the member now in the context (access control has checked the assertion).</summary>
    internal static void ActThroughPortal(this ServerCallContext context, string portalCode) => context.UserState[DelegatedByKey] = portalCode;

    /// <summary>The module that relayed a partner's call to this one (the portal's member code for a delegated call), or null for a direct call.</summary>
    public static string? RelayedBy(this ServerCallContext context)
    {
        if (context.DelegatedBy() is { } portal) return portal;
        if (!context.UserState.ContainsKey(OnBehalfOfKey)) return null;
        var module = context.GetHttpContext().Request.Headers[RelayedByHeader].ToString();
        return module.Length is > 0 and <= 32 && module.All(char.IsAsciiLetterLower) ? module : "unnamed module";
    }

    /// <summary>Marks this call as relayed on behalf of <paramref name="memberCode"/> (access control has checked the caller may).</summary>
    internal static void ActOnBehalfOf(this ServerCallContext context, string memberCode) => context.UserState[OnBehalfOfKey] = memberCode;

    /// <summary>The scope of correlation ids sent without valid credentials.</summary>
    public const string UnauthenticatedScope = "unauthenticated";

    /// <summary>
    /// This call's correlation id, scoped to the member that sent it: <c>member/id</c>, where id is the caller's
    /// <c>x-correlation-id</c> (else this call's trace id), so two members choosing the same id never share a trace.
    /// The internal-service member's id is taken as it came (a module forwards an id it already scoped).
    /// </summary>
    public static string CorrelationId(this ServerCallContext context) => context.CorrelationIdOf(context.MemberOrNull());

    /// <summary>The correlation id as <see cref="CorrelationId(ServerCallContext)"/> scopes it for <paramref name="member"/> (null: unauthenticated).</summary>
    internal static string CorrelationIdOf(this ServerCallContext context, Member? member)
    {
        string? header = context.GetHttpContext().Request.Headers[CorrelationHeader];
        var chosen = !string.IsNullOrEmpty(header) && header.Length <= 128 ? header : null;
        var trace = Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
        if (member is { Role: MemberRole.InternalService } && context.MemberOrNull() is not null)
            return chosen ?? $"{context.ActingMemberCode()}/{trace}";
        return $"{member?.Code ?? UnauthenticatedScope}/{chosen ?? trace}";
    }
}
