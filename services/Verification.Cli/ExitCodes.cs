using Grpc.Core;

namespace Verification.Cli;

/// <summary>
/// What the process exit code means, one contract for every command (documented in --help and the README), so scripts
/// can branch on it. New commands return these through <see cref="CommandContext.Run"/>: an answer of "no" is
/// <see cref="No"/>; a failure is thrown (<see cref="UsageException"/>, <see cref="InvalidInputException"/>,
/// <see cref="NotAllowedException"/>, an <see cref="RpcException"/>) and mapped here.
/// </summary>
public static class ExitCodes
{
    /// <summary>Done, and the answer is yes (covered, every row accepted, log intact, serving).</summary>
    public const int Ok = 0;

    /// <summary>Done, and the answer is no: NOT COVERED, rows rejected, log not intact, results incomplete, not serving.</summary>
    public const int No = 1;

    /// <summary>The command line cannot be used: a bad flag or value, an address that is not one, a key file of the wrong kind.</summary>
    public const int Usage = 2;

    /// <summary>Not signed in, or not allowed: the role may not call it, or a bank code or employer outside the member's scope.</summary>
    public const int AccessDenied = 3;

    /// <summary>The input is invalid: a field the server refused, an unreadable, empty, header-only or non-UTF-8 file.</summary>
    public const int InvalidInput = 4;

    /// <summary>The service cannot answer now (down, overloaded, too slow): try again later.</summary>
    public const int Unavailable = 5;

    public const int NotFound = 6;

    /// <summary>Anything else: a fault in the server or this program; report it.</summary>
    public const int Error = 10;

    /// <summary>Ctrl+C: what was done is kept and said; run the same command again to continue.</summary>
    public const int Interrupted = 130;

    public const string Help =
        "Exit codes: 0 yes/done, 1 no (NOT COVERED, rows rejected, log not intact, results incomplete), 2 usage (bad flag, address or key file), " +
        "3 access denied (incl. a bank code or employer outside your scope), 4 invalid input (refused fields; bad, empty, header-only or non-UTF-8 file), " +
        "5 unavailable (retry later), 6 not found, 10 unexpected error, 130 interrupted (rerun to continue).";

    public static int For(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => AccessDenied,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange or StatusCode.AlreadyExists => InvalidInput,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted => Unavailable,
        StatusCode.NotFound => NotFound,
        _ => Error,
    };

    /// <summary>The name scripts see in JSON errors, e.g. INVALID_INPUT.</summary>
    public static string Name(int exitCode) => exitCode switch
    {
        Ok => "OK",
        No => "NO",
        Usage => "USAGE",
        AccessDenied => "ACCESS_DENIED",
        InvalidInput => "INVALID_INPUT",
        Unavailable => "UNAVAILABLE",
        NotFound => "NOT_FOUND",
        Interrupted => "INTERRUPTED",
        _ => "ERROR",
    };
}

/// <summary>A failure a command reports as one line (plus details) and an exit code, without a stack trace.</summary>
public class CommandFailure(int exitCode, string message, IReadOnlyList<string>? details = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>Further lines: the rows or fields concerned.</summary>
    public IReadOnlyList<string> Details { get; } = details ?? [];
}

/// <summary>A command-line value that cannot be used; the message names the option. Exit code 2.</summary>
public sealed class UsageException(string message) : CommandFailure(ExitCodes.Usage, message);

/// <summary>An input file or value the command cannot work with (unreadable, empty, header-only, not UTF-8). Exit code 4.</summary>
public sealed class InvalidInputException(string message, IReadOnlyList<string>? details = null) : CommandFailure(ExitCodes.InvalidInput, message, details);

/// <summary>Work outside the member's scope (another bank, another employer), refused before anything is sent. Exit code 3.</summary>
public sealed class NotAllowedException(string message, IReadOnlyList<string>? details = null) : CommandFailure(ExitCodes.AccessDenied, message, details);
