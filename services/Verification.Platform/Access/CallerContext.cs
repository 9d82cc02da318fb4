using Verification.Rpc.Server;

namespace Verification.Platform.Access;

/// <summary>Who is calling, as established by <see cref="AccessInterceptor"/>.</summary>
public static class CallerContext
{
    private const string CorrelationHeader = "x-correlation-id";

    /// <summary>The authenticated member; only anonymous RPCs (health) have none.</summary>
    public static Member Member(this ServerCallContext context) =>
        context.Items.TryGetValue(typeof(Member), out var member) && member is Member m
            ? m
            : throw new InvalidOperationException($"{context.Method.FullName} has no authenticated member.");

    /// <summary>The caller's correlation id (<c>x-correlation-id</c>), else this call's trace id.</summary>
    public static string CorrelationId(this ServerCallContext context)
    {
        string? header = context.GetHttpContext().Request.Headers[CorrelationHeader];
        if (!string.IsNullOrEmpty(header) && header.Length <= 128) return header;
        return context.TraceId ?? Guid.NewGuid().ToString("N");
    }
}
