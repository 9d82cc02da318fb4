using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Verification.Platform.Hosting;

/// <summary>Reads one module setting: empty means the default, anything else must parse and be in range or start-up stops naming the key.</summary>
public static class SettingValues
{
    /// <exception cref="ConfigurationError">Not a whole number from <paramref name="min"/> to <paramref name="max"/>.</exception>
    public static int WholeNumber(this IConfigurationSection section, string key, int fallback, int min, int max)
    {
        ArgumentNullException.ThrowIfNull(section);
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ConfigurationError($"{section.Path}:{key}", $"a whole number from {min} to {max}", text);
    }

    /// <exception cref="ConfigurationError">Not a positive duration; <paramref name="example"/> (e.g. 00:00:01) is what the error suggests.</exception>
    public static TimeSpan PositiveDuration(this IConfigurationSection section, string key, TimeSpan fallback, string example)
    {
        ArgumentNullException.ThrowIfNull(section);
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw new ConfigurationError($"{section.Path}:{key}", $"a positive duration such as {example}", text);
    }
}
