using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;
using Grpc.Core;
using Verification.Api;
using Verification.Platform.Rpc;

namespace Verification.Platform.Data;

/// <summary>
/// A call that fails because a module's database is unreachable, restarting or busy answers <c>UNAVAILABLE</c> with
/// <c>RetryInfo</c>, not <c>INTERNAL</c>: every write is one transaction, so nothing was half-done and the caller's
/// retry (same idempotency key) is safe.
/// </summary>
public sealed partial class DatabaseOutageInterceptor(ILogger<DatabaseOutageInterceptor> logger) : ServerCallInterceptor
{
    /// <summary>Long enough for a connection pool to notice a restarted server, short enough for a bank's loan screen.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    protected override async Task InterceptAsync(ServerCallContext context, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested && Outage(ex) is { } cause)
        {
            // The type and SQL state only: a driver's message can quote the values of the statement.
            LogOutage(logger, context.Method, cause.GetType().Name, (cause as PostgresException)?.SqlState ?? (cause as SqliteException)?.SqliteErrorCode.ToString() ?? "");
            throw RpcErrors.RetryLater(StatusCode.Unavailable, "The service's database is unavailable; retry the same request after the given delay.", RetryDelay);
        }
    }

    /// <summary>True when the exception, or one it wraps, says the database could not be reached or could not serve now.</summary>
    public static bool IsOutage(Exception exception) => Outage(exception) is not null;

    private static Exception? Outage(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                // Connection refused or reset, server shutting down or starting (57P01–57P03), pool exhausted, timeouts.
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return npgsql;
                // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: another writer holds the file.
                case SqliteException { SqliteErrorCode: 5 or 6 } sqlite:
                    return sqlite;
                case DbException { IsTransient: true } db:
                    return db;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable during {Method}: {ExceptionType} {SqlState}; answered UNAVAILABLE")]
    private static partial void LogOutage(ILogger logger, string method, string exceptionType, string sqlState);
}
