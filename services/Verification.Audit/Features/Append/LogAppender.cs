using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Keys;
using Verification.Audit.Features.Proofs;
using Verification.Platform.Data;
using Verification.Platform.Leases;

namespace Verification.Audit.Features.Append;

/// <summary>
/// Runs the <see cref="AppendSession"/>: appends as soon as a consumer of this process signals, polls for events
/// queued by other processes, signs heads when due, and stands by while another process holds the appender lock.
/// </summary>
public sealed partial class LogAppender(
    ModuleDatabase database,
    AuditSettings settings,
    LogSigningKey key,
    AppendSignal signal,
    SignedTreeSize signedTreeSize,
    LogIntegrity integrity,
    TimeProvider clock,
    ILogger<LogAppender> logger) : BackgroundService
{
    /// <summary>How often a standby appender tries for the writer lease.</summary>
    public static readonly TimeSpan StandbyRetry = TimeSpan.FromSeconds(1);

    /// <summary>This replica's name as the log's writer (one per process, so reopening after a failure keeps its own lease).</summary>
    public string Holder { get; } = JobLeases.NewHolder();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var standingBy = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (integrity.Damaged)
                {
                    // Appending to or signing over a damaged log would bless the damage: wait for an operator.
                    await Task.Delay(settings.PollInterval * 4, stoppingToken);
                    continue;
                }

                await using var session = await AppendSession.TryOpenAsync(database, Holder, settings, key, clock, stoppingToken);
                if (session is null)
                {
                    if (!standingBy)
                    {
                        LogStandingBy(logger);
                        standingBy = true;
                    }

                    await Task.Delay(StandbyRetry, stoppingToken);
                    continue;
                }

                standingBy = false;
                LogAppending(logger, session.Size);
                while (!stoppingToken.IsCancellationRequested && !integrity.Damaged)
                {
                    var taken = await session.AppendBatchAsync(stoppingToken);
                    failures = 0;
                    signedTreeSize.Observe(session.LatestHead?.TreeSize ?? -1);
                    if (taken >= settings.AppendBatchSize)
                    {
                        continue; // more are waiting
                    }

                    await session.SignIfDueAsync(stoppingToken);
                    signedTreeSize.Observe(session.LatestHead?.TreeSize ?? -1);
                    var untilHead = session.UntilHeadDue();
                    var wait = untilHead == Timeout.InfiniteTimeSpan || untilHead > settings.PollInterval ? settings.PollInterval : untilHead;
                    await signal.WaitAsync(wait, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (LeaseLostException)
            {
                // Another replica writes now; nothing of this session's last batch was committed.
                LogLeaseLost(logger);
            }
            catch (LogIntegrityException ex)
            {
                failures++;
                LogIntegrityFailure(logger, ex.Message);
                integrity.Damage(ex.Message);
                await BackOffAsync(failures, stoppingToken);
            }
            catch (Exception ex)
            {
                failures++;
                LogAppendFailed(logger, ex, failures);
                await BackOffAsync(failures, stoppingToken);
            }
        }
    }

    private static async Task BackOffAsync(int failures, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 200 * Math.Pow(2, Math.Min(failures - 1, 10))));
        try
        {
            await Task.Delay(delay, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: this replica lost the writer lease; it stands by")]
    private static partial void LogLeaseLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit log: appending from size {Size}")]
    private static partial void LogAppending(ILogger logger, long size);

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit log: another process holds the appender lock; standing by")]
    private static partial void LogStandingBy(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Audit log: refusing to append: {Reason}")]
    private static partial void LogIntegrityFailure(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: append failed ({Failures} in a row); reopening")]
    private static partial void LogAppendFailed(ILogger logger, Exception exception, int failures);
}
