using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Verification.Testing;

/// <summary>What a module's database holds, read whole: for tests that prove a value (a NIK) is stored in no form anywhere.</summary>
public static class DatabaseContents
{
    /// <summary>The database's tables, and every non-null value of every column of every table as text (bytes as Latin-1).</summary>
    public static async Task<(List<string> Tables, List<(string Table, string Column, string Value)> Values)> EveryTextValueAsync(DbContext db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = db.Database.IsSqlite()
                ? "SELECT name FROM sqlite_master WHERE type = 'table'"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }

        var values = new List<(string, string, string)>();
        foreach (var table in tables)
        {
            await using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using DbDataReader reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    if (reader.IsDBNull(i)) continue;
                    var value = reader.GetValue(i);
                    values.Add((table, reader.GetName(i), value is byte[] bytes ? Encoding.Latin1.GetString(bytes) : Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
                }
            }
        }

        return (tables, values);
    }
}
