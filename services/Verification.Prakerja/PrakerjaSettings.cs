using System.Globalization;
using Microsoft.Extensions.Configuration;
using Verification.Platform.Hosting;

namespace Verification.Prakerja;

/// <summary>The Prakerja module's settings, from <c>Verification:Prakerja</c>, validated at start-up.</summary>
public sealed class PrakerjaSettings
{
    public const string SectionName = "Verification:Prakerja";

    /// <summary>How long a batch's per-row results are kept after it completes (or fails); then they are purged, totals and digest remain.</summary>
    public TimeSpan ResultRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Recipients per processing chunk: one Membership call, one transaction, the unit of progress and of memory.</summary>
    public int ChunkSize { get; init; } = 10_000;

    /// <summary>How often the worker looks for work, expiries and abandoned uploads when nothing woke it.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a worker holds a batch without progress before another may take it over (a crashed worker's batch resumes after this).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the PMO is told to wait before retrying when Membership is unavailable (CrossCheck).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <exception cref="ConfigurationError">A malformed setting, named by its key.</exception>
    public static PrakerjaSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new PrakerjaSettings();
        var chunk = defaults.ChunkSize;
        if (!string.IsNullOrWhiteSpace(section["ChunkSize"])
            && (!int.TryParse(section["ChunkSize"], NumberStyles.None, CultureInfo.InvariantCulture, out chunk) || chunk is < 100 or > 100_000))
            throw new ConfigurationError($"{SectionName}:ChunkSize", "a whole number from 100 to 100000", section["ChunkSize"]);
        return new PrakerjaSettings
        {
            ResultRetention = Duration(section, "ResultRetention", defaults.ResultRetention),
            ChunkSize = chunk,
            PollInterval = Duration(section, "PollInterval", defaults.PollInterval),
            LeaseDuration = Duration(section, "LeaseDuration", defaults.LeaseDuration),
            RetryDelay = Duration(section, "RetryDelay", defaults.RetryDelay),
        };
    }

    private static TimeSpan Duration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new ConfigurationError($"{SectionName}:{key}", "a positive duration such as 30.00:00:00 or 00:00:05", text);
    }
}
