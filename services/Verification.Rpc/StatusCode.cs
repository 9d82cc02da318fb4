namespace Verification.Rpc;

/// <summary>The gRPC status codes (grpc doc/statuscodes.md); the numbers are the wire values.</summary>
public enum StatusCode
{
    OK = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// <summary>A call's outcome: code, message and the optional rich <c>google.rpc.Status</c> details.</summary>
public readonly record struct Status(StatusCode StatusCode, string Detail, Google.Rpc.Status? Details = null)
{
    public static readonly Status DefaultSuccess = new(StatusCode.OK, "");
    public static readonly Status DefaultCancelled = new(StatusCode.Cancelled, "Call cancelled.");

    public override string ToString() =>
        Detail.Length == 0 ? $"Status(StatusCode=\"{StatusCode}\")" : $"Status(StatusCode=\"{StatusCode}\", Detail=\"{Detail}\")";
}
