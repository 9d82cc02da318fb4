using System.Data.Common;
using System.Text.Json;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using static Verification.Kur.Tests.Support.StoreWrites;

namespace Verification.Kur.Tests;

/// <summary>
/// KUR's statements by key run with generic plans, made once per connection from whatever the table held then
/// (<see cref="PostgresRequestConnections.ForKeyedStatements"/>). Each plan must reach its row through the primary key with
/// both key columns, on a fresh table, on one page (where every index costs the same and the tie once went to the bank's
/// month index, reading every row of the bank per call), analysed or not, and on a table of thousands of rows.
/// </summary>
public sealed class KeyedStatementPlanTests
{
    [Theory]
    [InlineData(0, false)]
    [InlineData(20, false)]
    [InlineData(20, true)]
    [InlineData(3_000, true)]
    public async Task EveryStatementByKeyIsPlannedOnThePrimaryKeyWhateverTheTableHeldWhenItWasPlanned(int rows, bool analysed)
    {
        await using var database = await KurDatabase.CreateAsync(DatabaseProvider.Postgres);
        await FillAsync(database, rows);
        await using var connection = new NpgsqlConnection(PostgresRequestConnections.ForKeyedStatements(database.ConnectionString));
        await connection.OpenAsync();
        if (analysed) await ExecuteAsync(connection, "ANALYZE kur_enrolments");
        Assert.Equal("force_generic_plan", await ScalarAsync<string>(connection, "SELECT current_setting('plan_cache_mode')"));

        foreach (var statement in PostgresKurStore.KeyedStatements)
        {
            var scans = await ScansOfEnrolmentsAsync(connection, statement);

            var byKey = statement.Contains("WHERE bank_code = $1 AND loan_reference = $2", StringComparison.Ordinal);
            Assert.Equal(byKey ? ["Index Scan on kur_enrolments_pkey by bank_code and loan_reference"] : [], scans);
        }
    }

    [Fact]
    public async Task TheBanksListingAndReportStillReadTheirIndexesWhichLeaveClaimsOut()
    {
        await using var database = await KurDatabase.CreateAsync(DatabaseProvider.Postgres);
        await FillAsync(database, 3_000);
        var sent = new SentQueries();
        await using var db = database.NewContext(sent);
        var store = new PostgresKurStore(db, database.Writes);
        await using var connection = new NpgsqlConnection(PostgresRequestConnections.For(database.ConnectionString));
        await connection.OpenAsync();
        await ExecuteAsync(connection, "ANALYZE kur_enrolments");

        var listed = await store.ListRecordsAsync("002", Noon.AddSeconds(10), Noon.AddSeconds(12)).ToListAsync();
        var counted = await store.CountRecordsAsync("002", 202612, 202612, null, CancellationToken.None);

        Assert.Equal(["PLAN-0000011"], listed.Select(r => r.LoanReference));
        Assert.Equal(30, counted.Sum(c => c.Count));
        var (listing, report) = (Assert.Single(sent.Commands, c => c.CommandText.Contains("ORDER BY")), Assert.Single(sent.Commands, c => c.CommandText.Contains("GROUP BY")));
        Assert.Contains("ix_kur_enrolments_bank_create_time", Indexes(await ExplainAsync(connection, listing)));
        Assert.Contains("ix_kur_enrolments_bank_month", Indexes(await ExplainAsync(connection, report)));
    }

    /// <summary>Rows of bank 002: a fifth of them claims, the rest answered records, written by the store's own statements.</summary>
    private static async Task FillAsync(KurDatabase database, int rows)
    {
        for (var first = 0; first < rows; first += 500)
        {
            var claims = Enumerable.Range(first, Math.Min(500, rows - first)).Select(Claim).ToList();
            PostgresKurWrites.Write[] claimed = [.. claims.Select(ClaimWrite)];
            await database.Writes.AnswerAsync(claimed, CancellationToken.None);
            Assert.All(await Task.WhenAll(claimed.Select(w => w.Result.Task)), Assert.True);

            PostgresKurWrites.Write[] answered = [.. claims.Where((_, i) => (first + i) % 5 != 0).Select(c => AnswerWrite(c, "2611" + c.LoanReference[^7..]))];
            await database.Writes.AnswerAsync(answered, CancellationToken.None);
            Assert.All(await Task.WhenAll(answered.Select(w => w.Result.Task)), Assert.True);
        }
    }

    /// <summary>The statement's generic plan, described by each node that scans kur_enrolments (its write itself left out).</summary>
    private static async Task<List<string>> ScansOfEnrolmentsAsync(NpgsqlConnection connection, string statement)
    {
        await ExecuteAsync(connection, $"PREPARE keyed AS {statement}");
        try
        {
            var parameters = await ScalarAsync<int>(connection, "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'keyed'");
            var plan = await ExplainAsync(connection, $"EXECUTE keyed({string.Join(", ", Enumerable.Repeat("NULL", parameters))})");
            return [.. Nodes(plan)
                .Where(n => n.TryGetProperty("Relation Name", out var table) && table.GetString() == "kur_enrolments" && n.GetProperty("Node Type").GetString() != "ModifyTable")
                .Select(Describe)];
        }
        finally
        {
            await ExecuteAsync(connection, "DEALLOCATE keyed");
        }
    }

    private static string Describe(JsonElement scan)
    {
        var index = scan.TryGetProperty("Index Name", out var name) ? name.GetString() : "no index";
        var condition = scan.TryGetProperty("Index Cond", out var cond) ? cond.GetString()! : "";
        var columns = new[] { "bank_code = $1", "loan_reference = $2" }.All(condition.Contains) ? "by bank_code and loan_reference" : $"by {condition}";
        return $"{scan.GetProperty("Node Type").GetString()} on {index} {columns}";
    }

    private static async Task<JsonElement> ExplainAsync(NpgsqlConnection connection, string sql)
    {
        var json = await ScalarAsync<string>(connection, $"EXPLAIN (FORMAT JSON) {sql}");
        return JsonDocument.Parse(json).RootElement[0].GetProperty("Plan");
    }

    /// <summary>A command EF Core sent, explained with its own parameters (a custom plan, as the module's contexts plan).</summary>
    private static async Task<JsonElement> ExplainAsync(NpgsqlConnection connection, SentQuery query)
    {
        await using var command = new NpgsqlCommand($"EXPLAIN (FORMAT JSON) {query.CommandText}", connection);
        foreach (var parameter in query.Parameters) command.Parameters.Add(parameter);
        var json = (string)(await command.ExecuteScalarAsync())!;
        return JsonDocument.Parse(json).RootElement[0].GetProperty("Plan");
    }

    private sealed record SentQuery(string CommandText, NpgsqlParameter[] Parameters);

    /// <summary>Keeps the text and a copy of the parameters of every query a context sends.</summary>
    private sealed class SentQueries : DbCommandInterceptor
    {
        public List<SentQuery> Commands { get; } = [];

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Commands.Add(new(command.CommandText, [.. command.Parameters.Cast<NpgsqlParameter>().Select(p => p.Clone())]));
            return ValueTask.FromResult(result);
        }
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (!node.TryGetProperty("Plans", out var children)) yield break;
        foreach (var child in children.EnumerateArray())
        {
            foreach (var descendant in Nodes(child)) yield return descendant;
        }
    }

    private static List<string> Indexes(JsonElement plan) =>
        [.. Nodes(plan).Where(n => n.TryGetProperty("Index Name", out _)).Select(n => n.GetProperty("Index Name").GetString()!)];

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A claim at bank 002, one second after the one before; one in a hundred (all to be answered) in December 2026.</summary>
    private static KurEnrolmentRecord Claim(int n)
    {
        var claim = StoreWrites.Claim($"PLAN-{n:D7}");
        claim.Scheme = n % 2 == 0 ? LoanScheme.Mikro : LoanScheme.Kecil;
        claim.CreateTime = Noon.AddSeconds(n);
        claim.CreateMonth = n % 100 == 1 ? 202612 : 202611;
        return claim;
    }
}
