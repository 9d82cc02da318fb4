using Grpc.Core;

namespace Verification.Api;

/// <summary>Call options in one line.</summary>
public static class RpcCalls
{
    /// <summary>A call that must be over within <paramref name="timeout"/>.</summary>
    public static CallOptions WithTimeout(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
}
