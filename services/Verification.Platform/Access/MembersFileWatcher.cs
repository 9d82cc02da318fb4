using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Verification.Platform.Access;

/// <summary>How the members file stands: loaded, or invalid since a moment for a reason (the last good file still answers).</summary>
public sealed record MembersFileStanding(DateTimeOffset LoadedAt, int Members, DateTimeOffset? InvalidSince = null, string? InvalidReason = null);

/// <summary>
/// Reloads the members file while the host runs, so a member removed from it (or past its expiry) is refused on its next call.
/// A file system watcher notices most changes at once; a check of the file's content hash every
/// <see cref="AccessOptions.MembersFileCheckInterval"/> catches what watchers miss (network and overlay file systems,
/// a Kubernetes ConfigMap's symlink swap). An invalid file changes nothing: the last good one stays, a warning is logged
/// once per content and health reports it until a good file is loaded.
/// </summary>
public sealed partial class MembersFileWatcher : BackgroundService
{
    /// <summary>Editors and copy tools write a file in several steps: read it once they have been quiet this long.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);

    private readonly MemberDirectory _directory;
    private readonly string _path;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _clock;
    private readonly ILogger<MembersFileWatcher> _logger;
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile MembersFileStanding _standing;
    private readonly Lock _checking = new();
    private string? _lastSeen;

    public MembersFileWatcher(MemberDirectory directory, IOptions<AccessOptions> options, TimeProvider clock, ILogger<MembersFileWatcher> logger)
    {
        _directory = directory;
        _path = Path.GetFullPath(options.Value.MembersFile);
        _interval = options.Value.MembersFileCheckInterval;
        _clock = clock;
        _logger = logger;
        _lastSeen = directory.SourceHash;
        _standing = new MembersFileStanding(clock.GetUtcNow(), directory.Count);
    }

    public MembersFileStanding Standing => _standing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watcher = Watch();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(_interval);
                try
                {
                    if (await _changed.Reader.WaitToReadAsync(wait.Token))
                    {
                        while (_changed.Reader.TryRead(out _)) { }
                        // Bounded, so a file rewritten without pause is still read now and then.
                        for (var round = 0; round < 20; round++)
                        {
                            await Task.Delay(Debounce, stoppingToken);
                            if (!_changed.Reader.TryRead(out _)) break;
                        }
                    }
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // The periodic check: nothing was noticed in the interval.
                }
                Check();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>Loads the file if its content changed since last seen; public so a test or an operator command can force the check.</summary>
    public void Check()
    {
        lock (_checking) CheckOnce();
    }

    private void CheckOnce()
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Remembered by the reason, so a file that stays missing is reported once, not at every check.
            var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "the file is missing" : "the file cannot be read";
            if (_lastSeen == reason) return;
            _lastSeen = reason;
            Refuse(reason);
            return;
        }

        // Parsed only when its bytes changed: the periodic check of an unchanged file costs one read and one hash.
        var hash = MemberDirectory.HashContent(content);
        if (hash == _lastSeen) return;
        _lastSeen = hash;
        try
        {
            var replaced = _directory.Replace(MemberDirectory.Parse(content), hash);
            _standing = new MembersFileStanding(_clock.GetUtcNow(), replaced.Members);
            Log.Reloaded(_logger, _path, replaced.Members, replaced.Removed);
        }
        catch (InvalidMembersFileException ex)
        {
            Refuse(ex.Message);
        }
        catch (Exception ex)
        {
            // A file no rule foresaw must not stop the host (a background service's exception would): keep the last good file.
            Log.Unexpected(_logger, _path, ex.GetType().Name);
            Refuse("the file could not be read as members (" + ex.GetType().Name + ")");
        }
    }

    private void Refuse(string reason)
    {
        var standing = _standing;
        _standing = standing with { InvalidSince = standing.InvalidSince ?? _clock.GetUtcNow(), InvalidReason = reason };
        Log.Invalid(_logger, _path, reason, standing.Members);
    }

    private FileSystemWatcher? Watch()
    {
        try
        {
            // The folder, not the file: an atomic rename or a ConfigMap's "..data" symlink swap replaces the file itself.
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, _) => _changed.Writer.TryWrite(true);
            watcher.Created += (_, _) => _changed.Writer.TryWrite(true);
            watcher.Deleted += (_, _) => _changed.Writer.TryWrite(true);
            watcher.Renamed += (_, _) => _changed.Writer.TryWrite(true);
            watcher.Error += (_, _) => _changed.Writer.TryWrite(true);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            Log.NotWatched(_logger, _path, _interval);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4031, Level = LogLevel.Information, Message = "Members file {Path} reloaded: {Members} members, {Removed} removed since the previous file")]
        public static partial void Reloaded(ILogger logger, string path, int members, int removed);

        [LoggerMessage(EventId = 4032, Level = LogLevel.Warning, Message = "Members file {Path} is invalid ({Reason}); the last good file ({Members} members) stays in force until it is fixed")]
        public static partial void Invalid(ILogger logger, string path, string reason, int members);

        [LoggerMessage(EventId = 4034, Level = LogLevel.Error, Message = "Members file {Path} failed to load with {Exception}; the last good file stays in force")]
        public static partial void Unexpected(ILogger logger, string path, string exception);

        [LoggerMessage(EventId = 4033, Level = LogLevel.Warning, Message = "Members file {Path} cannot be watched; changes are found by checking it every {Interval}")]
        public static partial void NotWatched(ILogger logger, string path, TimeSpan interval);
    }
}
