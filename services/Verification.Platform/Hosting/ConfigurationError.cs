namespace Verification.Platform.Hosting;

/// <summary>A setting that is missing or malformed; the host prints one line naming the key and stops.</summary>
public sealed class ConfigurationError(string key, string expected, string? actual = null)
    : Exception(actual is null ? $"{key}: expected {expected}" : $"{key}: expected {expected}, got '{actual}'")
{
    public string Key { get; } = key;
}
