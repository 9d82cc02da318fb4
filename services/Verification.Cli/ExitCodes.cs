using Grpc.Core;
using Verification.Api;

namespace Verification.Cli;

/// <summary>What the process exit code means, so scripts can branch on it (documented in --help).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;          // the operation ran but its answer is "no": rows failed, log not intact, not covered with --require-covered
    public const int Usage = 2;
    public const int AccessDenied = 3;    // UNAUTHENTICATED or PERMISSION_DENIED
    public const int InvalidInput = 4;    // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS
    public const int Unavailable = 5;     // UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED: try again later
    public const int NotFound = 6;
    public const int Error = 10;          // anything else
    public const int Interrupted = 130;   // Ctrl+C: work done so far is kept; rerun to continue

    public const string Help = "Exit codes: 0 ok, 1 failed (rows rejected, log not intact), 2 usage, 3 access denied, 4 invalid input, 5 unavailable (retry later), 6 not found, 10 other error, 130 interrupted (rerun to continue).";

    public static int For(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => AccessDenied,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange or StatusCode.AlreadyExists => InvalidInput,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted => Unavailable,
        StatusCode.NotFound => NotFound,
        _ => Error,
    };
}
