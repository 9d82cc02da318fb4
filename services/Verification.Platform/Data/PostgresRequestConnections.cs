using Npgsql;

namespace Verification.Platform.Data;

/// <summary>
/// How the connections that serve requests (every module DbContext) talk to PostgreSQL: each statement is parsed once per
/// connection and then only bound and executed, but still planned for its actual parameters on every execution (planned once
/// only on a module's own pool for statements by key that a test proves safe: <see cref="ForKeyedStatements"/>), and a
/// connection goes back to the pool without a reset. Measured on KUR's enrolment (docs/benchmarks.md, "## KUR").
/// </summary>
public static class PostgresRequestConnections
{
    /// <summary>
    /// The module's connection string with these settings, unless the operator set them: <c>Max Auto Prepare</c> 64
    /// (prepared after two uses), <c>plan_cache_mode=force_custom_plan</c> and <c>No Reset On Close</c>.
    /// </summary>
    /// <remarks>
    /// Custom plans only: a generic plan chosen while a table is nearly empty (a fresh database) was measured to stay a
    /// sequential scan on KUR's primary key lookups for the whole run (2–3 ms per lookup at 28,000 rows instead of 0.02).
    /// No reset: these connections hold no session state (transaction-scoped locks and settings only; the migrator's
    /// session lock uses its own pool), and the reset that protects prepared statements costs seven statements per use.
    /// </remarks>
    public static string For(string connectionString) => With(connectionString, ["plan_cache_mode=force_custom_plan"]);

    /// <summary>
    /// The same, for connections that only run statements reading or writing one row by its primary key, on tables whose
    /// other indexes cannot serve such a statement (partial ones, say): each statement is planned once per connection
    /// (<c>plan_cache_mode=force_generic_plan</c>) and a sequential scan is never chosen (<c>enable_seqscan=off</c>), so the
    /// only plan left is the primary key's, whatever the statistics were when it was made. Planning every call cost KUR's
    /// three statements about 150 µs of PostgreSQL's CPU per enrolment (docs/benchmarks.md, "## KUR").
    /// </summary>
    /// <remarks>
    /// The module proves its plans with a test (KUR: <c>KeyedStatementPlanTests</c>). Sequential scans stay off even where the
    /// operator chose the plan cache's mode: under <c>auto</c> a plan made on a one-page table could otherwise be one.
    /// </remarks>
    public static string ForKeyedStatements(string connectionString) =>
        With(connectionString, ["plan_cache_mode=force_generic_plan", "enable_seqscan=off"]);

    /// <summary>The connection string with our pooling defaults and each setting the operator's <c>Options</c> leave unset.</summary>
    private static string With(string connectionString, string[] settings)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        foreach (var setting in settings)
        {
            var name = setting[..setting.IndexOf('=')];
            if (builder.Options?.Contains(name, StringComparison.Ordinal) != true) builder.Options = $"{builder.Options} -c {setting}".Trim();
        }

        builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }
}
