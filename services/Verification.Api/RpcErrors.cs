using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Verification.Api;

/// <summary>Errors as the API gives them: a status code, a message that leaks nothing, and <c>google.rpc</c> details a client can act on.</summary>
public static class RpcErrors
{
    /// <summary>The trailer grpc's own clients wait for before retrying (grpc A6); sent beside <c>RetryInfo</c>.</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    /// <summary>A plain status, no details.</summary>
    public static RpcException Of(StatusCode code, string message) => new(new Grpc.Core.Status(code, message));

    /// <summary>An error with rich details; the code and message are copied into the <c>google.rpc.Status</c>.</summary>
    public static RpcException WithDetails(StatusCode code, string message, params IMessage[] details)
    {
        var rich = new Google.Rpc.Status { Code = (int)code, Message = message };
        foreach (var detail in details) rich.Details.Add(Any.Pack(detail));
        return ErrorBounds.Bound(rich).ToRpcException();
    }

    /// <summary><c>INVALID_ARGUMENT</c> with a <c>google.rpc.BadRequest</c> naming each offending field.</summary>
    public static RpcException InvalidArgument(IEnumerable<(string Field, string Description)> violations, string message = "The request has invalid fields.")
    {
        var badRequest = ErrorBounds.Bound(violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description }));
        return WithDetails(StatusCode.InvalidArgument, message, badRequest);
    }

    /// <summary><c>UNAVAILABLE</c> (or another code) with a <c>google.rpc.RetryInfo</c> telling the caller when to retry.</summary>
    public static RpcException RetryLater(StatusCode code, string message, TimeSpan retryDelay)
    {
        var exception = WithDetails(code, message, new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryDelay) });
        exception.Trailers.Add(RetryPushbackTrailer, ((long)Math.Ceiling(retryDelay.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return exception;
    }

    /// <summary>The decoded <c>grpc-status-details-bin</c>, when the peer sent one.</summary>
    public static Google.Rpc.Status? RichStatus(this RpcException exception) => exception.GetRpcStatus();

    /// <summary>The first detail of type <typeparamref name="T"/> in the rich status, if any.</summary>
    public static T? GetDetail<T>(this RpcException exception) where T : class, IMessage<T>, new() =>
        exception.GetRpcStatus()?.GetDetail<T>();
}
