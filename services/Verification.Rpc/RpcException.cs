using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace Verification.Rpc;

/// <summary>A call that ended with a non-OK status; what handlers throw and what clients catch.</summary>
public class RpcException : Exception
{
    public RpcException(Status status) : this(status, new Metadata()) { }

    public RpcException(Status status, Metadata trailers) : base(status.ToString())
    {
        Status = status;
        Trailers = trailers;
    }

    public RpcException(StatusCode code, string detail) : this(new Status(code, detail)) { }

    public Status Status { get; }

    public StatusCode StatusCode => Status.StatusCode;

    public Metadata Trailers { get; }

    /// <summary>The decoded <c>grpc-status-details-bin</c>, when the peer sent one.</summary>
    public Google.Rpc.Status? RichStatus => Status.Details;

    /// <summary>The first detail of type <typeparamref name="T"/> in the rich status, if any.</summary>
    public T? GetDetail<T>() where T : class, IMessage<T>, new()
    {
        if (Status.Details is null) return null;
        foreach (var any in Status.Details.Details)
        {
            if (any.Is(new T().Descriptor)) return any.Unpack<T>();
        }
        return null;
    }

    /// <summary>An error with rich details; the code and message are copied into the <c>google.rpc.Status</c>.</summary>
    public static RpcException WithDetails(StatusCode code, string message, params IMessage[] details)
    {
        var rich = new Google.Rpc.Status { Code = (int)code, Message = message };
        foreach (var detail in details) rich.Details.Add(Any.Pack(detail));
        return new RpcException(new Status(code, message, rich));
    }

    /// <summary><c>INVALID_ARGUMENT</c> with a <c>google.rpc.BadRequest</c> naming each offending field.</summary>
    public static RpcException InvalidArgument(IEnumerable<(string Field, string Description)> violations, string message = "The request has invalid fields.")
    {
        var badRequest = new BadRequest();
        foreach (var (field, description) in violations)
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        return WithDetails(StatusCode.InvalidArgument, message, badRequest);
    }

    /// <summary><c>UNAVAILABLE</c> (or another code) with a <c>google.rpc.RetryInfo</c> telling the caller when to retry.</summary>
    public static RpcException RetryLater(StatusCode code, string message, TimeSpan retryDelay) =>
        WithDetails(code, message, new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryDelay) });
}
