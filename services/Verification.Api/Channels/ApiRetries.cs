using Google.Protobuf.Reflection;
using Grpc.Net.Client.Configuration;

namespace Verification.Api.Channels;

/// <summary>
/// Which calls a channel retries: unary methods the proto marks IDEMPOTENT or NO_SIDE_EFFECTS, only on UNAVAILABLE,
/// with exponential backoff (the server's <c>grpc-retry-pushback-ms</c> wins when it sends one).
/// </summary>
public static class ApiRetries
{
    public static ServiceConfig ServiceConfig(IEnumerable<ServiceDescriptor> services)
    {
        var retry = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = 5,
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(2),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { Grpc.Core.StatusCode.Unavailable },
            },
        };
        foreach (var method in services.SelectMany(s => s.Methods).Where(IsRetryable))
            retry.Names.Add(new MethodName { Service = method.Service.FullName, Method = method.Name });
        return new ServiceConfig { MethodConfigs = { retry } };
    }

    /// <summary>Unary and safe to repeat, by the proto's own <c>idempotency_level</c>.</summary>
    public static bool IsRetryable(MethodDescriptor method) =>
        !method.IsClientStreaming && !method.IsServerStreaming
        && method.GetOptions()?.IdempotencyLevel is MethodOptions.Types.IdempotencyLevel.Idempotent or MethodOptions.Types.IdempotencyLevel.NoSideEffects;
}
