using System.Diagnostics;
using Grpc.Core;

namespace Verification.Platform.Access;

/// <summary>Who is calling, as established by <see cref="AccessInterceptor"/>.</summary>
public static class CallerContext
{
    private const string CorrelationHeader = "x-correlation-id";

    /// <summary>The authenticated member; only anonymous RPCs (health) have none.</summary>
    public static Member Member(this ServerCallContext context) =>
        context.MemberOrNull() ?? throw new InvalidOperationException($"{context.Method} has no authenticated member.");

    /// <summary>The authenticated member, or null before authentication (or on health).</summary>
    public static Member? MemberOrNull(this ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(Member), out var member) ? member as Member : null;

    /// <summary>The caller's correlation id (<c>x-correlation-id</c>), else this call's trace id.</summary>
    public static string CorrelationId(this ServerCallContext context)
    {
        string? header = context.GetHttpContext().Request.Headers[CorrelationHeader];
        if (!string.IsNullOrEmpty(header) && header.Length <= 128) return header;
        return Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
    }
}
