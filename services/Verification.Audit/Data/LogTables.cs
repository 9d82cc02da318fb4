using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Verification.Audit.Verifier;

namespace Verification.Audit.Data;

/// <summary>
/// The log's writes and the appender's reads, in SQL for both providers: the append path must sustain thousands
/// of entries a second (binary COPY on PostgreSQL, prepared inserts on SQLite), which EF change tracking does not.
/// </summary>
/// <remarks>Values follow the EF mapping: on SQLite, Guids are upper-case TEXT and instants Unix milliseconds.</remarks>
public static class LogTables
{
    private const string PendingColumns =
        "event_id, event_type, occurred_at, acting_member, correlation_id, trace_id, nik_hmac, masked_nik, participant_number, member_code, loan_reference, batch_id, payload, received_at";

    private const string EntryColumns =
        "entry_index, event_id, event_type, occurred_at, appended_at, acting_member, correlation_id, trace_id, nik_hmac, masked_nik, participant_number, member_code, loan_reference, batch_id, canonical_bytes, leaf_hash";

    public static bool IsPostgres(DbConnection connection) => connection is NpgsqlConnection;

    /// <summary>
    /// Queues events for the appender in the caller's transaction; an event already queued or already in the log
    /// (a redelivery) inserts nothing, and so does the second of two copies in one call.
    /// </summary>
    /// <returns>How many events were new.</returns>
    public static async Task<int> InsertPendingAsync(DbConnection connection, DbTransaction? transaction, IReadOnlyList<PendingEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return 0;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (connection is NpgsqlConnection)
        {
            // One statement for the whole group: a column array per field.
            command.CommandText = $"""
                INSERT INTO audit_pending_events ({PendingColumns})
                SELECT v.* FROM unnest(@event_id, @event_type, @occurred_at, @acting_member, @correlation_id, @trace_id, @nik_hmac, @masked_nik,
                                       @participant_number, @member_code, @loan_reference, @batch_id, @payload, @received_at)
                    AS v(event_id, event_type, occurred_at, acting_member, correlation_id, trace_id, nik_hmac, masked_nik,
                         participant_number, member_code, loan_reference, batch_id, payload, received_at)
                WHERE NOT EXISTS (SELECT 1 FROM audit_entries e WHERE e.event_id = v.event_id)
                ON CONFLICT (event_id) DO NOTHING
                """;
            var parameters = command.Parameters;
            parameters.Add(new NpgsqlParameter<Guid[]>("@event_id", [.. events.Select(e => e.EventId)]));
            parameters.Add(new NpgsqlParameter<string[]>("@event_type", [.. events.Select(e => e.EventType)]));
            parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("@occurred_at", [.. events.Select(e => e.OccurredAt.ToUniversalTime())]));
            parameters.Add(new NpgsqlParameter<string[]>("@acting_member", [.. events.Select(e => e.ActingMember)]));
            parameters.Add(new NpgsqlParameter<string[]>("@correlation_id", [.. events.Select(e => e.CorrelationId)]));
            parameters.Add(new NpgsqlParameter<string[]>("@trace_id", [.. events.Select(e => e.TraceId)]));
            parameters.Add(new NpgsqlParameter("@nik_hmac", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = events.Select(e => e.NikHmac).ToArray() });
            parameters.Add(new NpgsqlParameter("@masked_nik", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.MaskedNik).ToArray() });
            parameters.Add(new NpgsqlParameter("@participant_number", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.ParticipantNumber).ToArray() });
            parameters.Add(new NpgsqlParameter("@member_code", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.MemberCode).ToArray() });
            parameters.Add(new NpgsqlParameter("@loan_reference", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.LoanReference).ToArray() });
            parameters.Add(new NpgsqlParameter("@batch_id", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.BatchId).ToArray() });
            parameters.Add(new NpgsqlParameter("@payload", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = events.Select(e => e.Payload).ToArray() });
            parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("@received_at", [.. events.Select(e => e.ReceivedAt.ToUniversalTime())]));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // SQLite is in process: one prepared statement per event, inside the caller's transaction.
        command.CommandText = $"""
            INSERT INTO audit_pending_events ({PendingColumns})
            SELECT @event_id, @event_type, @occurred_at, @acting_member, @correlation_id, @trace_id, @nik_hmac, @masked_nik,
                   @participant_number, @member_code, @loan_reference, @batch_id, @payload, @received_at
            WHERE NOT EXISTS (SELECT 1 FROM audit_entries WHERE event_id = @event_id)
            ON CONFLICT (event_id) DO NOTHING
            """;
        var inserted = 0;
        foreach (var pending in events)
        {
            command.Parameters.Clear();
            AddParameter(command, "@event_id", pending.EventId);
            AddParameter(command, "@event_type", pending.EventType);
            AddParameter(command, "@occurred_at", pending.OccurredAt);
            AddParameter(command, "@acting_member", pending.ActingMember);
            AddParameter(command, "@correlation_id", pending.CorrelationId);
            AddParameter(command, "@trace_id", pending.TraceId);
            AddParameter(command, "@nik_hmac", pending.NikHmac);
            AddParameter(command, "@masked_nik", pending.MaskedNik);
            AddParameter(command, "@participant_number", pending.ParticipantNumber);
            AddParameter(command, "@member_code", pending.MemberCode);
            AddParameter(command, "@loan_reference", pending.LoanReference);
            AddParameter(command, "@batch_id", pending.BatchId);
            AddParameter(command, "@payload", pending.Payload);
            AddParameter(command, "@received_at", pending.ReceivedAt);
            inserted += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return inserted;
    }

    /// <summary>The oldest pending events, each flagged when its event id is in the log already (a late redelivery).</summary>
    public static async Task<List<(PendingEvent Event, bool AlreadyLogged)>> ReadPendingAsync(
        DbConnection connection, DbTransaction transaction, int limit, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT p.pending_id, p.event_id, p.event_type, p.occurred_at, p.acting_member, p.correlation_id, p.trace_id, p.nik_hmac,
                   p.masked_nik, p.participant_number, p.member_code, p.loan_reference, p.batch_id, p.payload, p.received_at,
                   CASE WHEN e.entry_index IS NULL THEN 0 ELSE 1 END
            FROM (SELECT * FROM audit_pending_events ORDER BY pending_id LIMIT @limit) p
            LEFT JOIN audit_entries e ON e.event_id = p.event_id
            ORDER BY p.pending_id
            """;
        AddParameter(command, "@limit", limit);
        var rows = new List<(PendingEvent, bool)>(Math.Min(limit, 4096));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var pending = new PendingEvent
            {
                PendingId = reader.GetInt64(0),
                EventId = reader.GetGuid(1),
                EventType = reader.GetString(2),
                OccurredAt = ReadInstant(reader, 3),
                ActingMember = reader.GetString(4),
                CorrelationId = reader.GetString(5),
                TraceId = reader.GetString(6),
                NikHmac = reader.IsDBNull(7) ? null : (byte[])reader.GetValue(7),
                MaskedNik = NullableString(reader, 8),
                ParticipantNumber = NullableString(reader, 9),
                MemberCode = NullableString(reader, 10),
                LoanReference = NullableString(reader, 11),
                BatchId = NullableString(reader, 12),
                Payload = (byte[])reader.GetValue(13),
                ReceivedAt = ReadInstant(reader, 14),
            };
            rows.Add((pending, Convert.ToInt32(reader.GetValue(15), CultureInfo.InvariantCulture) == 1));
        }

        return rows;
    }

    public static async Task DeletePendingAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<long> pendingIds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // By id, never by range: on PostgreSQL a row with a smaller id may commit after the batch was read.
        if (IsPostgres(connection))
        {
            command.CommandText = "DELETE FROM audit_pending_events WHERE pending_id = ANY(@ids)";
            command.Parameters.Add(new NpgsqlParameter<long[]>("@ids", [.. pendingIds]));
        }
        else
        {
            command.CommandText = "DELETE FROM audit_pending_events WHERE pending_id IN (SELECT value FROM json_each(@ids))";
            AddParameter(command, "@ids", JsonSerializer.Serialize(pendingIds));
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task InsertEntriesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (connection is NpgsqlConnection postgres)
        {
            await using var writer = await postgres.BeginBinaryImportAsync($"COPY audit_entries ({EntryColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
            foreach (var entry in entries)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(entry.Index, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(entry.EventId, NpgsqlDbType.Uuid, cancellationToken);
                await writer.WriteAsync(entry.EventType, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(entry.OccurredAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(entry.AppendedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await writer.WriteAsync(entry.ActingMember, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(entry.CorrelationId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(entry.TraceId, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(writer, entry.NikHmac, NpgsqlDbType.Bytea, cancellationToken);
                await WriteNullableAsync(writer, entry.MaskedNik, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(writer, entry.ParticipantNumber, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(writer, entry.MemberCode, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(writer, entry.LoanReference, NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(writer, entry.BatchId, NpgsqlDbType.Text, cancellationToken);
                await writer.WriteAsync(entry.CanonicalBytes, NpgsqlDbType.Bytea, cancellationToken);
                await writer.WriteAsync(entry.LeafHash, NpgsqlDbType.Bytea, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            INSERT INTO audit_entries ({EntryColumns}) VALUES (@entry_index, @event_id, @event_type, @occurred_at, @appended_at,
                @acting_member, @correlation_id, @trace_id, @nik_hmac, @masked_nik, @participant_number, @member_code,
                @loan_reference, @batch_id, @canonical_bytes, @leaf_hash)
            """;
        foreach (var entry in entries)
        {
            command.Parameters.Clear();
            AddParameter(command, "@entry_index", entry.Index);
            AddParameter(command, "@event_id", entry.EventId);
            AddParameter(command, "@event_type", entry.EventType);
            AddParameter(command, "@occurred_at", entry.OccurredAt);
            AddParameter(command, "@appended_at", entry.AppendedAt);
            AddParameter(command, "@acting_member", entry.ActingMember);
            AddParameter(command, "@correlation_id", entry.CorrelationId);
            AddParameter(command, "@trace_id", entry.TraceId);
            AddParameter(command, "@nik_hmac", entry.NikHmac);
            AddParameter(command, "@masked_nik", entry.MaskedNik);
            AddParameter(command, "@participant_number", entry.ParticipantNumber);
            AddParameter(command, "@member_code", entry.MemberCode);
            AddParameter(command, "@loan_reference", entry.LoanReference);
            AddParameter(command, "@batch_id", entry.BatchId);
            AddParameter(command, "@canonical_bytes", entry.CanonicalBytes);
            AddParameter(command, "@leaf_hash", entry.LeafHash);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Stores complete subtrees of level 1 and up (level 0 is the entries' leaf_hash).</summary>
    public static async Task InsertSubtreeHashesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<SubtreeHash> nodes, CancellationToken cancellationToken)
    {
        if (nodes.Count == 0)
        {
            return;
        }

        if (connection is NpgsqlConnection postgres)
        {
            await using var writer = await postgres.BeginBinaryImportAsync("COPY audit_subtree_hashes (level, node_index, hash) FROM STDIN (FORMAT BINARY)", cancellationToken);
            foreach (var node in nodes)
            {
                await writer.StartRowAsync(cancellationToken);
                await writer.WriteAsync(node.Address.Level, NpgsqlDbType.Integer, cancellationToken);
                await writer.WriteAsync(node.Address.Index, NpgsqlDbType.Bigint, cancellationToken);
                await writer.WriteAsync(node.Hash, NpgsqlDbType.Bytea, cancellationToken);
            }

            await writer.CompleteAsync(cancellationToken);
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_subtree_hashes (level, node_index, hash) VALUES (@level, @node_index, @hash)";
        foreach (var node in nodes)
        {
            command.Parameters.Clear();
            AddParameter(command, "@level", node.Address.Level);
            AddParameter(command, "@node_index", node.Address.Index);
            AddParameter(command, "@hash", node.Hash);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    public static async Task InsertTreeHeadAsync(DbConnection connection, DbTransaction transaction, StoredTreeHead head, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id) VALUES (@tree_size, @root_hash, @timestamp_ms, @signature, @key_id)";
        AddParameter(command, "@tree_size", head.TreeSize);
        AddParameter(command, "@root_hash", head.RootHash);
        AddParameter(command, "@timestamp_ms", head.TimestampMilliseconds);
        AddParameter(command, "@signature", head.Signature);
        AddParameter(command, "@key_id", head.KeyId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Entries in the log, and the append time of the last one.</summary>
    public static async Task<(long Size, DateTimeOffset? LastAppendedAt)> ReadSizeAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT entry_index, appended_at FROM audit_entries ORDER BY entry_index DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0) + 1, ReadInstant(reader, 1)) : (0, null);
    }

    public static async Task<StoredTreeHead?> ReadLatestTreeHeadAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT tree_size, root_hash, timestamp_ms, signature, key_id FROM audit_tree_heads ORDER BY tree_size DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredTreeHead
        {
            TreeSize = reader.GetInt64(0),
            RootHash = (byte[])reader.GetValue(1),
            TimestampMilliseconds = reader.GetInt64(2),
            Signature = (byte[])reader.GetValue(3),
            KeyId = reader.GetString(4),
        };
    }

    /// <summary>An outbox row in the caller's transaction, in the columns and forms the platform's EF mapping uses.</summary>
    public static async Task InsertOutboxAsync(DbConnection connection, DbTransaction transaction, Platform.Outbox.OutboxMessage message, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO outbox_messages ({Platform.Outbox.OutboxStatements.Columns}) VALUES (@event_id, @message_type, @payload, @headers, @created_at)";
        AddParameter(command, "@event_id", message.EventId);
        AddParameter(command, "@message_type", message.MessageType);
        AddParameter(command, "@payload", message.Payload);
        AddParameter(command, "@headers", message.Headers);
        AddParameter(command, "@created_at", message.CreatedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One entry by index, or by event id when <paramref name="index"/> is null; null when there is none.</summary>
    public static async Task<LogEntry?> ReadEntryAsync(DbConnection connection, long? index, Guid eventId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {EntryColumns} FROM audit_entries WHERE " + (index is null ? "event_id = @key" : "entry_index = @key");
        AddParameter(command, "@key", index is { } byIndex ? byIndex : eventId);
        if (connection is NpgsqlConnection)
        {
            await command.PrepareAsync(cancellationToken); // kept per physical connection: proofs skip parsing and planning
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadEntry(reader) : null;
    }

    /// <summary>The entries with indexes in [<paramref name="fromIndex"/>, <paramref name="toIndex"/>) as stored, in index order, streamed.</summary>
    public static async IAsyncEnumerable<LogEntry> StreamEntriesAsync(DbConnection connection, long fromIndex, long toIndex,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {EntryColumns} FROM audit_entries WHERE entry_index >= @from AND entry_index < @to ORDER BY entry_index";
        command.CommandTimeout = 0; // a whole-log read takes as long as the log is large
        AddParameter(command, "@from", fromIndex);
        AddParameter(command, "@to", toIndex);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadEntry(reader);
        }
    }

    /// <summary>The stored complete subtrees of the given levels whose indexes fall in each range, by address.</summary>
    public static async Task<Dictionary<SubtreeAddress, byte[]>> ReadSubtreeRangesAsync(DbConnection connection,
        IReadOnlyList<(int Level, long First, long Last)> ranges, CancellationToken cancellationToken)
    {
        var hashes = new Dictionary<SubtreeAddress, byte[]>();
        if (ranges.Count == 0) return hashes;
        await using var command = connection.CreateCommand();
        var sql = new System.Text.StringBuilder();
        for (var i = 0; i < ranges.Count; i++)
        {
            if (i > 0) sql.Append(" UNION ALL ");
            var n = i.ToString(CultureInfo.InvariantCulture);
            sql.Append(CultureInfo.InvariantCulture, $"SELECT level, node_index, hash FROM audit_subtree_hashes WHERE level = @l{n} AND node_index BETWEEN @f{n} AND @t{n}");
            AddParameter(command, "@l" + n, ranges[i].Level);
            AddParameter(command, "@f" + n, ranges[i].First);
            AddParameter(command, "@t" + n, ranges[i].Last);
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hashes[new SubtreeAddress(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), reader.GetInt64(1))] = (byte[])reader.GetValue(2);
        }

        return hashes;
    }

    /// <summary>Up to <paramref name="limit"/> signed tree heads larger than <paramref name="afterSize"/>, smallest first.</summary>
    public static async Task<List<StoredTreeHead>> ReadTreeHeadsAsync(DbConnection connection, long afterSize, int limit, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tree_size, root_hash, timestamp_ms, signature, key_id FROM audit_tree_heads WHERE tree_size > @after ORDER BY tree_size LIMIT @limit";
        AddParameter(command, "@after", afterSize);
        AddParameter(command, "@limit", limit);
        var heads = new List<StoredTreeHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            heads.Add(new StoredTreeHead
            {
                TreeSize = reader.GetInt64(0),
                RootHash = (byte[])reader.GetValue(1),
                TimestampMilliseconds = reader.GetInt64(2),
                Signature = (byte[])reader.GetValue(3),
                KeyId = reader.GetString(4),
            });
        }

        return heads;
    }

    private static LogEntry ReadEntry(DbDataReader reader) => new()
    {
        Index = reader.GetInt64(0),
        EventId = reader.GetGuid(1),
        EventType = reader.GetString(2),
        OccurredAt = ReadInstant(reader, 3),
        AppendedAt = ReadInstant(reader, 4),
        ActingMember = reader.GetString(5),
        CorrelationId = reader.GetString(6),
        TraceId = reader.GetString(7),
        NikHmac = reader.IsDBNull(8) ? null : (byte[])reader.GetValue(8),
        MaskedNik = NullableString(reader, 9),
        ParticipantNumber = NullableString(reader, 10),
        MemberCode = NullableString(reader, 11),
        LoanReference = NullableString(reader, 12),
        BatchId = NullableString(reader, 13),
        CanonicalBytes = (byte[])reader.GetValue(14),
        LeafHash = (byte[])reader.GetValue(15),
    };

    /// <summary>Adds a parameter in the form the provider's EF mapping stores.</summary>
    public static void AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = (value, command) switch
        {
            (null, _) => DBNull.Value,
            (Guid id, SqliteCommand) => id.ToString("D").ToUpperInvariant(),
            (DateTimeOffset instant, SqliteCommand) => instant.ToUnixTimeMilliseconds(),
            (DateTimeOffset instant, _) => instant.ToUniversalTime(),
            _ => value,
        };
        command.Parameters.Add(parameter);
    }

    private static async Task WriteNullableAsync<T>(NpgsqlBinaryImporter writer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : class
    {
        if (value is null)
        {
            await writer.WriteNullAsync(cancellationToken);
        }
        else
        {
            await writer.WriteAsync(value, type, cancellationToken);
        }
    }

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset ReadInstant(DbDataReader reader, int ordinal) =>
        reader is SqliteDataReader
            ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal))
            : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
