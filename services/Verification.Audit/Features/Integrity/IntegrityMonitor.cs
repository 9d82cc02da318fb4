using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verification.Audit.Features.Keys;

namespace Verification.Audit.Features.Integrity;

/// <summary>Runs the whole-log check at start and then every <see cref="AuditSettings.IntegrityCheckInterval"/>; damage stops the log and is logged as critical.</summary>
public sealed partial class IntegrityMonitor(LogIntegrityCheck check, LogIntegrity integrity, AuditSettings settings, ILogger<IntegrityMonitor> logger) : BackgroundService
{
    private readonly SemaphoreSlim _running = new(1, 1);

    /// <summary>Checks now (waiting for a check in progress to end first) and records the result.</summary>
    public async Task<IntegrityReport> CheckNowAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            var report = await check.RunAsync(null, cancellationToken);
            integrity.Record(report);
            if (report.Intact) LogIntact(logger, report.EntriesChecked, report.Took.TotalSeconds);
            else LogDamaged(logger, report.Problem);
            return report;
        }
        finally
        {
            _running.Release();
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _running.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckNowAsync(stoppingToken);
                await Task.Delay(settings.IntegrityCheckInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database may be down: not damage, only a check that could not run; try again soon.
                LogCheckFailed(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit log: integrity check passed over {Entries} entries in {Seconds:F1} s")]
    private static partial void LogIntact(ILogger logger, long entries, double seconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Audit log: DAMAGED, appending and signing stopped: {Problem}")]
    private static partial void LogDamaged(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: the integrity check could not run")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
