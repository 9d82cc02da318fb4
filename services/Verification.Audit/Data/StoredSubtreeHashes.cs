using System.Data.Common;
using System.Globalization;
using System.Text;
using Npgsql;
using Verification.Audit.Verifier;

namespace Verification.Audit.Data;

/// <summary>
/// The persisted tree as <see cref="MerkleLogTree"/> reads it: level 0 from audit_entries.leaf_hash, higher levels
/// from audit_subtree_hashes; every request is one query of primary-key point lookups.
/// </summary>
public sealed class StoredSubtreeHashes(DbConnection connection, DbTransaction? transaction = null) : ISubtreeHashStore
{
    // SQLite allows 500 terms in a compound SELECT; a proof of a realistic log needs well under a hundred.
    private const int MaxAddressesPerQuery = 400;

    public async ValueTask<IReadOnlyList<byte[]>> ReadAsync(IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count <= MaxAddressesPerQuery)
        {
            return addresses.Count == 0 ? [] : await ReadChunkAsync(addresses, cancellationToken);
        }

        var hashes = new List<byte[]>(addresses.Count);
        for (var start = 0; start < addresses.Count; start += MaxAddressesPerQuery)
        {
            hashes.AddRange(await ReadChunkAsync([.. addresses.Skip(start).Take(MaxAddressesPerQuery)], cancellationToken));
        }

        return hashes;
    }

    private async Task<IReadOnlyList<byte[]>> ReadChunkAsync(IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (connection is NpgsqlConnection)
        {
            // Two joins against arrays: planned in well under a millisecond, unlike dozens of UNION ALL branches.
            command.CommandText = """
                SELECT a.pos, s.hash FROM unnest(@levels, @nodes, @node_positions) AS a(level, node_index, pos)
                    JOIN audit_subtree_hashes s ON s.level = a.level AND s.node_index = a.node_index
                UNION ALL
                SELECT a.pos, e.leaf_hash FROM unnest(@leaves, @leaf_positions) AS a(entry_index, pos)
                    JOIN audit_entries e ON e.entry_index = a.entry_index
                """;
            var nodes = addresses.Select((address, position) => (address, position)).Where(n => n.address.Level > 0).ToList();
            var leaves = addresses.Select((address, position) => (address, position)).Where(n => n.address.Level == 0).ToList();
            command.Parameters.Add(new NpgsqlParameter<int[]>("@levels", [.. nodes.Select(n => n.address.Level)]));
            command.Parameters.Add(new NpgsqlParameter<long[]>("@nodes", [.. nodes.Select(n => n.address.Index)]));
            command.Parameters.Add(new NpgsqlParameter<int[]>("@node_positions", [.. nodes.Select(n => n.position)]));
            command.Parameters.Add(new NpgsqlParameter<long[]>("@leaves", [.. leaves.Select(n => n.address.Index)]));
            command.Parameters.Add(new NpgsqlParameter<int[]>("@leaf_positions", [.. leaves.Select(n => n.position)]));
            // Prepared once per physical connection (Npgsql keeps it across pool use): every proof skips parsing and planning.
            await command.PrepareAsync(cancellationToken);
            return await ReadHashesAsync(command, addresses, cancellationToken);
        }

        // SQLite runs in process: point lookups by primary key, one UNION ALL branch each.
        var sql = new StringBuilder();
        for (var i = 0; i < addresses.Count; i++)
        {
            var address = addresses[i];
            if (i > 0)
            {
                sql.Append(" UNION ALL ");
            }

            // Position and level are integers from the proof plan, not input; the node index is a parameter.
            var position = i.ToString(CultureInfo.InvariantCulture);
            sql.Append(address.Level == 0
                ? $"SELECT {position} AS pos, leaf_hash AS hash FROM audit_entries WHERE entry_index = @n{position}"
                : $"SELECT {position} AS pos, hash FROM audit_subtree_hashes WHERE level = {address.Level.ToString(CultureInfo.InvariantCulture)} AND node_index = @n{position}");
            LogTables.AddParameter(command, "@n" + position, address.Index);
        }

        command.CommandText = sql.ToString();
        return await ReadHashesAsync(command, addresses, cancellationToken);
    }

    private static async Task<IReadOnlyList<byte[]>> ReadHashesAsync(DbCommand command, IReadOnlyList<SubtreeAddress> addresses, CancellationToken cancellationToken)
    {
        var hashes = new byte[addresses.Count][];
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                hashes[Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture)] = (byte[])reader.GetValue(1);
            }
        }

        for (var i = 0; i < hashes.Length; i++)
        {
            if (hashes[i] is null)
            {
                throw new KeyNotFoundException($"The audit log has no stored hash for subtree {addresses[i]}.");
            }
        }

        return hashes;
    }
}
