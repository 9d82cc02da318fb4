using System.Globalization;
using Npgsql;
using Verification.LoadTests.Harness;

namespace Verification.LoadTests.Books;

/// <summary>What the databases say right now: outbox backlog per database, and how far the audit log is behind.</summary>
public sealed class SuiteProbe(Suite suite)
{
    public sealed record OutboxState(string Database, long Pending, long Total, DateTimeOffset? OldestPending, long WithErrors);

    public sealed record Snapshot(IReadOnlyList<OutboxState> Outboxes, long AuditEntries, long AuditPending)
    {
        public long OutboxPending => Outboxes.Sum(o => o.Pending);

        public long OutboxTotal => Outboxes.Sum(o => o.Total);

        /// <summary>Events written by the modules that are not in the audit log yet (signed-head announcements are never logged).</summary>
        public long AuditBehind => Math.Max(0, OutboxTotal - AuditEntries);

        public TimeSpan OldestPendingAge => Outboxes.Where(o => o.OldestPending is not null).Select(o => DateTimeOffset.UtcNow - o.OldestPending!.Value).DefaultIfEmpty(TimeSpan.Zero).Max();
    }

    /// <summary>Outbox events (the view outbox_events: grouped or not) the audit log keeps: every one but its own signed-head announcements, which it never logs.</summary>
    public const string LoggedEvents = "message_type NOT LIKE '%.AuditTreeHeadSigned'";

    public async Task<Snapshot> TakeAsync(CancellationToken cancellationToken)
    {
        var outboxes = new List<OutboxState>();
        foreach (var (key, connectionString) in suite.Databases.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            var row = await QuerySingleAsync(connectionString, $"""
                SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FILTER (WHERE {LoggedEvents}), min(created_at) FILTER (WHERE published_at IS NULL),
                       count(*) FILTER (WHERE published_at IS NULL AND last_error IS NOT NULL)
                FROM outbox_events
                """, cancellationToken);
            if (row is null) continue;
            outboxes.Add(new OutboxState(key, (long)row[0]!, (long)row[1]!, row[2] is DateTime t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : null, (long)row[3]!));
        }

        long entries = 0, pending = 0;
        if (suite.Databases.TryGetValue("audit", out var audit))
        {
            var row = await QuerySingleAsync(audit, "SELECT (SELECT count(*) FROM audit_entries), (SELECT count(*) FROM audit_pending_events)", cancellationToken);
            entries = (long)row![0]!;
            pending = (long)row[1]!;
        }

        return new Snapshot(outboxes, entries, pending);
    }

    public string Describe(Snapshot snapshot) => string.Create(CultureInfo.InvariantCulture,
        $"outbox pending {snapshot.OutboxPending} (oldest {snapshot.OldestPendingAge.TotalSeconds:0.0} s), audit behind {snapshot.AuditBehind} ({snapshot.AuditEntries} entries, {snapshot.AuditPending} pending rows)");

    /// <summary>The first row of a query as objects; null when the table does not exist in that database.</summary>
    public static async Task<object?[]?> QuerySingleAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(connectionString, sql, null, cancellationToken);
        return rows?.FirstOrDefault();
    }

    public static async Task<List<object?[]>?> QueryAsync(string connectionString, string sql, Action<NpgsqlCommand>? parameters, CancellationToken cancellationToken)
    {
        try
        {
            return await QueryOnceAsync(connectionString, sql, parameters, cancellationToken);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            // After a PostgreSQL restart the pool still holds dead connections: drop them and ask once more.
            NpgsqlConnection.ClearPool(new NpgsqlConnection(connectionString));
            return await QueryOnceAsync(connectionString, sql, parameters, cancellationToken);
        }
    }

    private static async Task<List<object?[]>?> QueryOnceAsync(string connectionString, string sql, Action<NpgsqlCommand>? parameters, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 120 };
        parameters?.Invoke(command);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<object?[]>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var values = new object?[reader.FieldCount];
                for (var i = 0; i < values.Length; i++) values[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(values);
            }

            return rows;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
    }
}
