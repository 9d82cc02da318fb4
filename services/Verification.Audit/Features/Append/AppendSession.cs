using System.Data.Common;
using Verification.Audit.Data;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Keys;
using Verification.Audit.Verifier;
using Verification.Platform.Data;
using Verification.Platform.Leases;

namespace Verification.Audit.Features.Append;

/// <summary>The stored log contradicts its own signed tree head: never append to it.</summary>
public sealed class LogIntegrityException(string message) : Exception(message);

/// <summary>
/// The only writer of the log, for as long as it is open: drains pending events in batches, gives them consecutive
/// indexes, and commits entries, new subtree hashes and (when due) a signed tree head in one transaction.
/// </summary>
/// <remarks>
/// The session holds the writer lease (<see cref="WriterJob"/> in <c>job_leases</c>), so of several replicas one
/// appends and the others stand by and serve reads. Every append and head commits only after the lease's fencing token
/// is renewed in the same transaction: a writer that lost its lease (paused past its expiry, cut off) commits nothing,
/// and its successor loads the log after the takeover. The tree's right edge (<see cref="CompactRange"/>) lives in
/// memory, so an append reads no hashes from the database. After any failure, dispose the session and open a new
/// one: it reloads its state from what was committed.
/// </remarks>
public sealed class AppendSession : IAsyncDisposable
{
    /// <summary>The job name of the audit log's single writer in <c>job_leases</c>.</summary>
    public const string WriterJob = "audit-log-writer";

    private readonly DbConnection _connection;
    private readonly SemaphoreSlim? _sqliteGate;
    private readonly AuditSettings _settings;
    private readonly LogSigningKey _key;
    private readonly TimeProvider _clock;
    private readonly PublishedHead _published;
    private readonly JobLeases _leases;
    private readonly JobLease _lease;
    private CompactRange _frontier;
    private DateTimeOffset _lastAppendedAt;
    private StoredTreeHead? _latestHead;

    private AppendSession(DbConnection connection, SemaphoreSlim? sqliteGate, JobLeases leases, JobLease lease, AuditSettings settings, LogSigningKey key, TimeProvider clock, CompactRange frontier, DateTimeOffset lastAppendedAt, StoredTreeHead? latestHead)
    {
        _connection = connection;
        _leases = leases;
        _lease = lease;
        _sqliteGate = sqliteGate;
        _settings = settings;
        _key = key;
        _clock = clock;
        _published = new PublishedHead(settings.PublishedHeadPath);
        _frontier = frontier;
        _lastAppendedAt = lastAppendedAt;
        _latestHead = latestHead;
    }

    /// <summary>Entries in the log.</summary>
    public long Size => _frontier.Size;

    /// <summary>The latest signed tree head.</summary>
    public StoredTreeHead? LatestHead => _latestHead;

    /// <summary>The writer lease this session appends under.</summary>
    public JobLease Lease => _lease;

    /// <summary>Opens the log for appending as a writer of its own; null while another writer holds the lease.</summary>
    /// <exception cref="LogIntegrityException">The stored entries do not match the latest signed tree head.</exception>
    public static Task<AppendSession?> TryOpenAsync(ModuleDatabase database, AuditSettings settings, LogSigningKey key, TimeProvider clock, CancellationToken cancellationToken) =>
        TryOpenAsync(database, JobLeases.NewHolder(), settings, key, clock, cancellationToken);

    /// <summary>Opens the log for appending as <paramref name="holder"/> (one per replica); null while another writer holds the lease.</summary>
    /// <exception cref="LogIntegrityException">The stored entries do not match the latest signed tree head.</exception>
    public static async Task<AppendSession?> TryOpenAsync(ModuleDatabase database, string holder, AuditSettings settings, LogSigningKey key, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(settings);
        var leases = new JobLeases(database, clock);
        // The log is read only after the lease is held, so a successor starts from everything its predecessor committed.
        var lease = await leases.TryAcquireAsync(WriterJob, holder, settings.WriterLease, cancellationToken);
        if (lease is null)
        {
            return null;
        }

        // Unpooled: a killed session's open transaction ends with its connection.
        var connection = await AuditConnections.OpenAsync(database, pooled: false, cancellationToken);
        try
        {
            var (size, lastAppendedAt) = await LogTables.ReadSizeAsync(connection, null, cancellationToken);
            var head = await LogTables.ReadLatestTreeHeadAsync(connection, null, cancellationToken);
            var store = new StoredSubtreeHashes(connection);
            if (head is not null)
            {
                if (head.TreeSize > size)
                {
                    throw new LogIntegrityException($"The audit log holds {size} entries but its latest signed tree head covers {head.TreeSize}: entries were removed.");
                }

                var root = await new MerkleLogTree(store).RootAsync(head.TreeSize, cancellationToken);
                if (!root.AsSpan().SequenceEqual(head.RootHash))
                {
                    throw new LogIntegrityException($"The stored audit log does not match its signed tree head of size {head.TreeSize}: it was altered.");
                }
            }

            // Never sign a head smaller than, or inconsistent with, the newest one published (kept outside the database).
            if (new PublishedHead(settings.PublishedHeadPath).Read() is { } published)
            {
                if (head is null || head.TreeSize < published.TreeSize)
                {
                    throw new LogIntegrityException($"The audit log was rolled back: it published a signed head of {published.TreeSize} entries, and its newest stored head covers {head?.TreeSize ?? 0}.");
                }

                var publishedRoot = await new MerkleLogTree(store).RootAsync(published.TreeSize, cancellationToken);
                if (!publishedRoot.AsSpan().SequenceEqual(published.RootHash))
                {
                    throw new LogIntegrityException($"The stored audit log's first {published.TreeSize} entries are not those of the head it published with that size: history was rewritten.");
                }
            }

            var frontier = await CompactRange.LoadAsync(store, size, cancellationToken);
            var session = new AppendSession(connection, AuditConnections.SqliteGate(database), leases, lease, settings, key, clock, frontier, lastAppendedAt ?? DateTimeOffset.UnixEpoch, head);
            if (head is null)
            {
                await session.SignIfDueAsync(cancellationToken); // the first head, so GetTreeHead always has an answer
            }

            return session;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Appends up to one batch of pending events; returns how many pending rows it consumed (duplicates included).</summary>
    public async Task<int> AppendBatchAsync(CancellationToken cancellationToken)
    {
        if (_sqliteGate is not null)
        {
            await _sqliteGate.WaitAsync(cancellationToken);
        }

        try
        {
            await using var transaction = await _connection.BeginTransactionAsync(cancellationToken);
            // First: its row lock makes a takeover wait for this commit, and it renews the lease while the log is idle.
            await _leases.FenceAsync(_connection, transaction, _lease, _settings.WriterLease, cancellationToken);
            var rows = await LogTables.ReadPendingAsync(_connection, transaction, _settings.AppendBatchSize, cancellationToken);
            if (rows.Count == 0)
            {
                await transaction.CommitAsync(cancellationToken);
                return 0;
            }

            var now = Now();
            // Append times never decrease with the index, even if the clock steps back.
            var appendedAt = now > _lastAppendedAt ? now : _lastAppendedAt;
            var frontier = _frontier.Clone();
            var entries = new List<LogEntry>(rows.Count);
            var nodes = new List<SubtreeHash>(rows.Count);
            foreach (var (pending, alreadyLogged) in rows)
            {
                if (alreadyLogged)
                {
                    continue; // a redelivery that arrived after its first delivery was appended
                }

                var bytes = CanonicalEntry.Encode(pending, appendedAt);
                var leafHash = Rfc6962.HashLeaf(bytes);
                var index = frontier.Size;
                foreach (var node in frontier.Append(leafHash))
                {
                    if (node.Address.Level > 0)
                    {
                        nodes.Add(node);
                    }
                }

                entries.Add(new LogEntry
                {
                    Index = index,
                    EventId = pending.EventId,
                    EventType = pending.EventType,
                    OccurredAt = pending.OccurredAt,
                    AppendedAt = appendedAt,
                    ActingMember = pending.ActingMember,
                    CorrelationId = pending.CorrelationId,
                    TraceId = pending.TraceId,
                    NikHmac = pending.NikHmac,
                    MaskedNik = pending.MaskedNik,
                    ParticipantNumber = pending.ParticipantNumber,
                    MemberCode = pending.MemberCode,
                    LoanReference = pending.LoanReference,
                    BatchId = pending.BatchId,
                    CanonicalBytes = bytes,
                    LeafHash = leafHash,
                });
            }

            await LogTables.InsertEntriesAsync(_connection, transaction, entries, cancellationToken);
            await LogTables.InsertSubtreeHashesAsync(_connection, transaction, nodes, cancellationToken);
            await LogTables.DeletePendingAsync(_connection, transaction, [.. rows.Select(r => r.Event.PendingId)], cancellationToken);
            var head = HeadDue(frontier.Size, now) ? Sign(frontier, now) : null;
            if (head is not null)
            {
                await LogTables.InsertTreeHeadAsync(_connection, transaction, head, cancellationToken);
                await LogTables.InsertOutboxAsync(_connection, transaction, Announcement(head), cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            if (head is not null) _published.Write(head);
            _frontier = frontier;
            if (entries.Count > 0)
            {
                _lastAppendedAt = appendedAt;
                AuditTelemetry.RecordAppended(entries.Count, frontier.Size);
            }

            if (head is not null)
            {
                _latestHead = head;
                AuditTelemetry.RecordHeadSigned();
            }

            return rows.Count;
        }
        finally
        {
            _sqliteGate?.Release();
        }
    }

    /// <summary>Signs a head over the current log if one is due (see <see cref="AuditSettings.TreeHeadInterval"/>); returns it, or null.</summary>
    public async Task<StoredTreeHead?> SignIfDueAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        if (!HeadDue(_frontier.Size, now))
        {
            return null;
        }

        if (_sqliteGate is not null)
        {
            await _sqliteGate.WaitAsync(cancellationToken);
        }

        try
        {
            var head = Sign(_frontier, now);
            await using var transaction = await _connection.BeginTransactionAsync(cancellationToken);
            await _leases.FenceAsync(_connection, transaction, _lease, _settings.WriterLease, cancellationToken);
            await LogTables.InsertTreeHeadAsync(_connection, transaction, head, cancellationToken);
            await LogTables.InsertOutboxAsync(_connection, transaction, Announcement(head), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _published.Write(head);
            _latestHead = head;
            AuditTelemetry.RecordHeadSigned();
            return head;
        }
        finally
        {
            _sqliteGate?.Release();
        }
    }

    /// <summary>How long until unsigned entries are due a head; <see cref="Timeout.InfiniteTimeSpan"/> when every entry is signed.</summary>
    public TimeSpan UntilHeadDue()
    {
        if (_latestHead is null)
        {
            return TimeSpan.Zero;
        }

        if (_frontier.Size == _latestHead.TreeSize)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var due = DateTimeOffset.FromUnixTimeMilliseconds(_latestHead.TimestampMilliseconds) + _settings.TreeHeadInterval;
        var wait = due - Now();
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    /// <summary>Closes the session and hands the lease back, so a standby replica takes over without waiting for it to run out.</summary>
    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _leases.ReleaseAsync(_lease, deadline.Token);
        }
        catch (Exception ex) when (ex is DbException or OperationCanceledException or TimeoutException)
        {
            // The database is unreachable: the lease runs out by itself.
        }
    }

    // A head when there is none, or when entries are unsigned and either enough of them wait or the interval has passed.
    private bool HeadDue(long size, DateTimeOffset now)
    {
        if (_latestHead is null)
        {
            return true;
        }

        var unsigned = size - _latestHead.TreeSize;
        return unsigned > 0
            && (unsigned >= _settings.TreeHeadEntries
                || now - DateTimeOffset.FromUnixTimeMilliseconds(_latestHead.TimestampMilliseconds) >= _settings.TreeHeadInterval);
    }

    private StoredTreeHead Sign(CompactRange frontier, DateTimeOffset now)
    {
        // Head timestamps never decrease either: an auditor treats a head older than its predecessor as evidence.
        var previous = _latestHead is null ? DateTimeOffset.UnixEpoch : DateTimeOffset.FromUnixTimeMilliseconds(_latestHead.TimestampMilliseconds);
        var head = new TreeHead(frontier.Size, now > previous ? now : previous, frontier.Root());
        var signed = _key.Sign(head);
        return new StoredTreeHead
        {
            TreeSize = head.TreeSize,
            RootHash = head.RootHash.ToArray(),
            TimestampMilliseconds = head.TimestampMilliseconds,
            Signature = signed.Signature.ToArray(),
            KeyId = _key.KeyId,
        };
    }

    /// <summary>The head's announcement on the bus, committed with the head: witnesses and monitors follow it.</summary>
    private static Platform.Outbox.OutboxMessage Announcement(StoredTreeHead head) =>
        Platform.Outbox.OutboxDbContextExtensions.NewOutboxMessage(new Contracts.Events.AuditTreeHeadSigned(
            Guid.CreateVersion7(), DateTimeOffset.UtcNow, "", "audit", "audit", head.TreeSize, head.TimestampMilliseconds,
            Convert.ToHexStringLower(head.RootHash), Convert.ToHexStringLower(head.Signature), head.KeyId));

    private DateTimeOffset Now() => CanonicalJson.TruncateToMilliseconds(_clock.GetUtcNow());
}
