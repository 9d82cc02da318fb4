using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api;

namespace Verification.Platform.Rpc;

/// <summary>
/// Outermost: an exception no one mapped answers INTERNAL with a fixed message; its text, which can hold anything
/// (personal data included), goes to the log only. grpc-dotnet alone would answer UNKNOWN.
/// </summary>
public sealed partial class UnhandledErrorInterceptor(ILogger<UnhandledErrorInterceptor> logger) : ServerCallInterceptor
{
    public const string Message = "Internal error; the server logged it with this call's trace id.";

    protected override async Task InterceptAsync(ServerCallContext context, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (RpcException ex) when (ErrorBounds.Bound(ex) is var bounded && !ReferenceEquals(bounded, ex))
        {
            // An error built without RpcErrors (or over its bounds) still leaves with bounded details.
            throw bounded;
        }
        catch (Exception ex) when (ex is not RpcException && !(ex is OperationCanceledException or IOException && context.CancellationToken.IsCancellationRequested))
        {
            LogUnhandled(logger, ex, context.Method, Activity.Current?.TraceId.ToString() ?? "");
            throw RpcErrors.Of(StatusCode.Internal, Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception in {Method} (trace {TraceId})")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string traceId);
}
