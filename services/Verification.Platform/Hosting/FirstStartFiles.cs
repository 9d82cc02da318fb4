namespace Verification.Platform.Hosting;

/// <summary>
/// What monolithic mode creates on its first start (the data directory, development members and their tokens, keys).
/// Modules make these in memory while the host composes itself; <see cref="WriteAll"/> writes them once every setting
/// of every module has been checked, so <c>--help</c> or a start refused for a bad setting leaves nothing behind.
/// </summary>
public sealed class FirstStartFiles
{
    private readonly Dictionary<string, (string Content, bool Secret)> _pending = new(StringComparer.Ordinal);
    private readonly List<string> _directories = [];

    /// <summary>True once <see cref="WriteAll"/> has run: later requests are written at once.</summary>
    public bool Written { get; private set; }

    /// <summary>Paths <see cref="WriteAll"/> created, in the order written (for the start-up banner and tests).</summary>
    public List<string> Created { get; } = [];

    /// <summary>The file's text: what is on disk, else what <paramref name="create"/> makes now, to be written with the rest.</summary>
    /// <param name="secret">Written owner-only (0600): tokens and private keys.</param>
    public string ReadOrCreate(string path, Func<string> create, bool secret = true)
    {
        ArgumentNullException.ThrowIfNull(create);
        var full = Path.GetFullPath(path);
        if (_pending.TryGetValue(full, out var pending)) return pending.Content;
        if (File.Exists(full)) return File.ReadAllText(full);
        var content = create();
        _pending[full] = (content, secret);
        if (Written) WriteAll();
        return content;
    }

    /// <summary>The file's text, pending or on disk.</summary>
    public string ReadAllText(string path) =>
        _pending.TryGetValue(Path.GetFullPath(path), out var pending) ? pending.Content : File.ReadAllText(path);

    /// <summary>True when the file is on disk or about to be written.</summary>
    public bool Exists(string path) => _pending.ContainsKey(Path.GetFullPath(path)) || File.Exists(path);

    public void CreateDirectory(string path)
    {
        _directories.Add(Path.GetFullPath(path));
        if (Written) WriteAll();
    }

    /// <summary>Writes what is pending; a file another process created meanwhile stops the start (its content is not ours).</summary>
    public void WriteAll()
    {
        foreach (var directory in _directories) Directory.CreateDirectory(directory);
        _directories.Clear();
        foreach (var (path, (content, secret)) in _pending)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // Created with owner-only permissions before any secret byte is written; CreateNew never replaces a file.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (secret && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.Write(content);
            }
            catch (IOException) when (File.Exists(path))
            {
                throw new InvalidOperationException($"{path} was created by another process while this one started (two first starts on one data directory); start again.");
            }

            Created.Add(path);
        }

        _pending.Clear();
        Written = true;
    }
}
