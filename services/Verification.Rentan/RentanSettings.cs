using System.Globalization;
using Microsoft.Extensions.Configuration;
using Verification.Platform.Hosting;

namespace Verification.Rentan;

/// <summary>The Rentan module's settings, from <c>Verification:Rentan</c>, validated at start-up.</summary>
public sealed class RentanSettings
{
    public const string SectionName = "Verification:Rentan";

    public const string NikKeySetting = SectionName + ":NikKeyPath";

    /// <summary>Workers enrolled or renewed together (one Membership call, one transaction); Membership takes at most 1,000.</summary>
    public int ChunkSize { get; init; } = 500;

    /// <summary>Chunks worked on at once, so Membership, this database and the wire overlap.</summary>
    public int ChunksInFlight { get; init; } = 3;

    /// <summary>Most rows one enrolment list may have: its rows are decided together (poorest first), so they are held in memory.</summary>
    public int MaxListRows { get; init; } = 200_000;

    /// <summary>How long a sponsor is told to wait before retrying when Membership is unavailable.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <exception cref="ConfigurationError">A malformed setting, named by its key.</exception>
    public static RentanSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var defaults = new RentanSettings();
        return new RentanSettings
        {
            ChunkSize = WholeNumber(section, "ChunkSize", defaults.ChunkSize, 1, 1000),
            ChunksInFlight = WholeNumber(section, "ChunksInFlight", defaults.ChunksInFlight, 1, 16),
            MaxListRows = WholeNumber(section, "MaxListRows", defaults.MaxListRows, 1, 1_000_000),
            RetryDelay = Duration(section, "RetryDelay", defaults.RetryDelay),
        };
    }

    private static int WholeNumber(IConfigurationSection section, string key, int fallback, int min, int max)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ConfigurationError($"{SectionName}:{key}", $"a whole number from {min} to {max}", text);
    }

    private static TimeSpan Duration(IConfigurationSection section, string key, TimeSpan fallback)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new ConfigurationError($"{SectionName}:{key}", "a positive duration such as 00:00:01", text);
    }
}
