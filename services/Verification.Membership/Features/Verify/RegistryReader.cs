using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Platform.Data;

namespace Verification.Membership.Features.Verify;

/// <summary>
/// Set-based reads of the coverages of many NIKs at once, outside EF Core (this is the hot path): PostgreSQL takes
/// the whole set as one array parameter (<c>nik = ANY(@niks)</c>); SQLite takes IN-lists of
/// <see cref="SqliteChunk"/> parameters. Never one query per NIK.
/// </summary>
public sealed class RegistryReader : IAsyncDisposable
{
    /// <summary>NIKs per SQLite statement: well under its 32,766 host-parameter limit, and a statement it plans fast.</summary>
    public const int SqliteChunk = 500;

    private const string PostgresSql =
        "SELECT p.nik, c.programs, c.segment, c.start_date, c.end_date FROM participants p " +
        "LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik = ANY($1)";

    private readonly ModuleDatabase _database;
    private readonly NpgsqlDataSource? _postgres;

    public RegistryReader(ModuleDatabase database)
    {
        _database = database;
        if (database.Provider == DatabaseProvider.Postgres)
        {
            var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
            // The verification statement is the same text every time: let Npgsql prepare it once per connection.
            builder.ConnectionStringBuilder.MaxAutoPrepare = Math.Max(builder.ConnectionStringBuilder.MaxAutoPrepare, 8);
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
            _postgres = builder.Build();
        }
    }

    public DatabaseProvider Provider => _database.Provider;

    /// <summary>
    /// The coverages of every registered NIK among <paramref name="niks"/> (duplicates allowed); a NIK missing from the
    /// result is not registered, a registered one without coverage maps to an empty array.
    /// </summary>
    public async Task<Dictionary<long, CoverageSpan[]>> CoveragesByNikAsync(IReadOnlyCollection<long> niks, CancellationToken cancellationToken)
    {
        if (niks.Count == 0) return [];
        var found = new Dictionary<long, List<CoverageSpan>>(niks.Count);
        // Sorted keys walk the B-tree in order: neighbouring probes share pages.
        var sorted = niks.Distinct().Order().ToArray();
        if (_postgres is not null)
        {
            await using var command = _postgres.CreateCommand(PostgresSql);
            command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = sorted });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                Add(found, reader.GetInt64(0), reader.IsDBNull(1) ? null : new CoverageSpan(
                    new ProgramSet(reader.GetInt16(1)),
                    StoredCodes.Segment(reader.GetInt16(2)),
                    reader.GetFieldValue<DateOnly>(3),
                    reader.IsDBNull(4) ? null : reader.GetFieldValue<DateOnly>(4)));
            }
        }
        else
        {
            await using var connection = new SqliteConnection(_database.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            foreach (var chunk in sorted.Chunk(SqliteChunk))
            {
                await using var command = connection.CreateCommand();
                var sql = new StringBuilder("SELECT p.nik, c.programs, c.segment, c.start_date, c.end_date FROM participants p LEFT JOIN coverages c ON c.participant_id = p.id WHERE p.nik IN (");
                for (var i = 0; i < chunk.Length; i++)
                {
                    sql.Append(i == 0 ? "$n" : ",$n").Append(i.ToString(CultureInfo.InvariantCulture));
                    command.Parameters.AddWithValue("$n" + i.ToString(CultureInfo.InvariantCulture), chunk[i]);
                }

                command.CommandText = sql.Append(')').ToString();
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    Add(found, reader.GetInt64(0), reader.IsDBNull(1) ? null : new CoverageSpan(
                        new ProgramSet(reader.GetInt32(1)),
                        StoredCodes.Segment((short)reader.GetInt32(2)),
                        ParseDate(reader, 3),
                        reader.IsDBNull(4) ? null : ParseDate(reader, 4)));
                }
            }
        }

        var result = new Dictionary<long, CoverageSpan[]>(found.Count);
        foreach (var (nik, spans) in found) result[nik] = [.. spans];
        return result;
    }

    private static void Add(Dictionary<long, List<CoverageSpan>> found, long nik, CoverageSpan? span)
    {
        if (!found.TryGetValue(nik, out var spans)) found[nik] = spans = new List<CoverageSpan>(2);
        if (span is { } s) spans.Add(s);
    }

    private static DateOnly ParseDate(DbDataReader reader, int ordinal) =>
        DateOnly.ParseExact(reader.GetString(ordinal), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null) await _postgres.DisposeAsync();
    }
}
