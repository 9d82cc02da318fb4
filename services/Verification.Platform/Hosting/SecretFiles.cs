namespace Verification.Platform.Hosting;

/// <summary>Key files: where they may lie, and reading the base64 keys the modules keep their keyed hashes and ciphers with.</summary>
public static class SecretFiles
{
    /// <summary>True when <paramref name="path"/> lies inside <paramref name="directory"/>.</summary>
    public static bool IsInside(string path, string directory)
    {
        var full = Path.GetFullPath(path);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return full.StartsWith(root, StringComparison.Ordinal);
    }

    /// <summary>
    /// The base64 key in <paramref name="path"/> (a first-start file still pending in <paramref name="files"/>, else on disk).
    /// </summary>
    /// <exception cref="ConfigurationError">No base64 key of at least <paramref name="minimumBytes"/> bytes, named by
    /// <paramref name="setting"/> and the file; the file's content is secret and never echoed.</exception>
    public static byte[] ReadBase64Key(FirstStartFiles? files, string path, string setting, int minimumBytes)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String((files?.ReadAllText(path) ?? File.ReadAllText(path)).Trim());
        }
        catch (FormatException)
        {
            key = [];
        }

        return key.Length >= minimumBytes
            ? key
            : throw new ConfigurationError(setting, $"a file holding a base64 key of at least {minimumBytes} bytes", path);
    }
}
