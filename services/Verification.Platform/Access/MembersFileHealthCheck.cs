using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Verification.Platform.Access;

/// <summary>Degraded while the members file on disk is invalid: calls are still admitted, by the last good file, but changes to it are not in force.</summary>
public sealed class MembersFileHealthCheck(MembersFileWatcher watcher) : IHealthCheck
{
    public const string Name = "members-file";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var standing = watcher.Standing;
        return Task.FromResult(standing.InvalidSince is { } since
            ? HealthCheckResult.Degraded($"members file invalid since {Instant(since)}: {standing.InvalidReason}")
            : HealthCheckResult.Healthy($"members file loaded at {Instant(standing.LoadedAt)}: {standing.Members} members"));
    }

    private static string Instant(DateTimeOffset instant) => instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
