namespace Verification.Platform.Hosting;

/// <summary>Development key files: created once, owner-only, safe against two hosts starting on one data directory.</summary>
public static class SecretFiles
{
    /// <summary>Writes <paramref name="content"/> to a new file at <paramref name="path"/> unless one is there already.</summary>
    /// <returns>True when this call created the file.</returns>
    public static bool CreateIfMissing(string path, Func<string> content)
    {
        ArgumentNullException.ThrowIfNull(content);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path)) return false;
        // Owner-only permissions before any secret byte is written; CreateNew loses a race to a concurrent start safely.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(content());
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="path"/> lies inside <paramref name="directory"/>.</summary>
    public static bool IsInside(string path, string directory)
    {
        var full = Path.GetFullPath(path);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return full.StartsWith(root, StringComparison.Ordinal);
    }
}
