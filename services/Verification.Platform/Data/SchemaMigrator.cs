using System.Data.Common;
using System.Globalization;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Verification.Platform.Data;

/// <summary>One numbered SQL script embedded in an assembly, e.g. <c>Migrations/postgres/0003_loan_index.sql</c>.</summary>
public sealed record MigrationScript(string Scope, int Version, string Name, string ResourceName);

/// <summary>
/// Applies embedded, numbered SQL scripts per provider and records them in <c>schema_versions</c>
/// (scope, version). We cannot use <c>dotnet ef migrations</c>: Microsoft.EntityFrameworkCore.Design does not restore here.
/// </summary>
/// <remarks>
/// Scripts live in <c>{resourceNamespace}.postgres.NNNN_name.sql</c> and <c>{resourceNamespace}.sqlite.NNNN_name.sql</c>
/// (folders <c>Migrations/postgres</c> and <c>Migrations/sqlite</c> under an <c>EmbeddedResource</c> glob). The resource
/// namespace is the scope, so the platform's scripts and each module's are numbered independently in one database.
/// Each script runs in its own transaction together with its <c>schema_versions</c> row. On PostgreSQL the whole
/// run holds a session advisory lock, so processes starting at once apply each script once; on SQLite each script's
/// transaction is <c>BEGIN IMMEDIATE</c>, which serialises writers.
/// </remarks>
public sealed partial class SchemaMigrator(ILogger<SchemaMigrator> logger)
{
    /// <summary>Scope of the platform's own table (the outbox).</summary>
    public const string PlatformScope = "Verification.Platform.Data.Migrations";

    // Arbitrary but fixed: every migrator of every module takes the same lock in its own database.
    private const long AdvisoryLockKey = 0x5645_5249_4649_4341; // "VERIFICA"

    public SchemaMigrator()
        : this(NullLogger<SchemaMigrator>.Instance)
    {
    }

    /// <summary>Applies the platform's tables, then the module's own scripts (if it has any).</summary>
    public async Task<IReadOnlyList<MigrationScript>> ApplyModuleAsync(
        ModuleDatabase database, Assembly? moduleAssembly, string? moduleResourceNamespace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var applied = new List<MigrationScript>();
        applied.AddRange(await ApplyPlatformAsync(database.Provider, database.ConnectionString, cancellationToken));
        if (moduleAssembly is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(moduleResourceNamespace);
            applied.AddRange(await ApplyAsync(
                moduleAssembly, moduleResourceNamespace, database.Provider, database.ConnectionString, cancellationToken));
        }

        return applied;
    }

    /// <summary>Applies only the platform's table (outbox_messages).</summary>
    public Task<IReadOnlyList<MigrationScript>> ApplyPlatformAsync(
        DatabaseProvider provider, string connectionString, CancellationToken cancellationToken) =>
        ApplyAsync(typeof(SchemaMigrator).Assembly, PlatformScope, provider, connectionString, cancellationToken);

    /// <summary>Applies the scripts of one scope that are not yet recorded; returns those it applied.</summary>
    public async Task<IReadOnlyList<MigrationScript>> ApplyAsync(
        Assembly assembly,
        string resourceNamespace,
        DatabaseProvider provider,
        string connectionString,
        CancellationToken cancellationToken)
    {
        var scripts = Discover(assembly, resourceNamespace, provider);
        if (provider == DatabaseProvider.Sqlite)
        {
            SqliteConnectionPragmas.EnsureDirectory(connectionString);
        }

        await using DbConnection connection = provider switch
        {
            DatabaseProvider.Postgres => new NpgsqlConnection(connectionString),
            DatabaseProvider.Sqlite => new SqliteConnection(SqliteConnectionPragmas.WithBusyTimeout(connectionString)),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown database provider."),
        };
        await connection.OpenAsync(cancellationToken);

        if (provider == DatabaseProvider.Postgres)
        {
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        }
        else
        {
            await ExecuteAsync(connection, null, SqliteConnectionPragmas.Pragmas, cancellationToken);
        }

        try
        {
            await ExecuteAsync(connection, null, provider == DatabaseProvider.Postgres
                ? "CREATE TABLE IF NOT EXISTS schema_versions (scope text NOT NULL, version integer NOT NULL, name text NOT NULL, applied_at timestamptz NOT NULL, PRIMARY KEY (scope, version))"
                : "CREATE TABLE IF NOT EXISTS schema_versions (scope TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (scope, version))",
                cancellationToken);

            var applied = new List<MigrationScript>();
            foreach (var script in scripts)
            {
                if (await ApplyOneAsync(connection, assembly, script, cancellationToken))
                {
                    applied.Add(script);
                }
            }

            return applied;
        }
        finally
        {
            if (provider == DatabaseProvider.Postgres && connection.State == System.Data.ConnectionState.Open)
            {
                // Released explicitly because pooled connections keep session locks alive after Dispose.
                await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
            }
        }
    }

    /// <summary>The scripts of one scope for one provider, ordered by version.</summary>
    public static IReadOnlyList<MigrationScript> Discover(Assembly assembly, string resourceNamespace, DatabaseProvider provider)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrWhiteSpace(resourceNamespace);
        var prefix = $"{resourceNamespace}.{FolderOf(provider)}.";
        var scripts = new List<MigrationScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            // MSBuild may prefix a name starting with a digit with '_' when it builds the manifest name.
            var fileName = resource[prefix.Length..^".sql".Length].TrimStart('_');
            var digits = fileName.TakeWhile(char.IsAsciiDigit).Count();
            if (digits == 0 || fileName.Contains('.', StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Migration script '{resource}' must be named NNNN_description.sql, directly in the {FolderOf(provider)} folder.");
            }

            var version = int.Parse(fileName.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture);
            scripts.Add(new MigrationScript(resourceNamespace, version, fileName, resource));
        }

        var duplicate = scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException(
                $"Two migration scripts share version {duplicate.Key} in {prefix}: {string.Join(", ", duplicate.Select(s => s.Name))}.");
        }

        if (scripts.Count == 0)
        {
            throw new InvalidOperationException(
                $"No migration scripts found under '{prefix}' in {assembly.GetName().Name}: check the EmbeddedResource glob and the namespace.");
        }

        return scripts.OrderBy(s => s.Version).ToList();
    }

    private async Task<bool> ApplyOneAsync(
        DbConnection connection, Assembly assembly, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var check = connection.CreateCommand())
        {
            check.Transaction = transaction;
            check.CommandText = "SELECT COUNT(*) FROM schema_versions WHERE scope = @scope AND version = @version";
            AddParameter(check, "@scope", script.Scope);
            AddParameter(check, "@version", script.Version);
            if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0)
            {
                return false;
            }
        }

        string sql;
        await using (var stream = assembly.GetManifestResourceStream(script.ResourceName)
            ?? throw new InvalidOperationException($"Resource '{script.ResourceName}' vanished."))
        using (var reader = new StreamReader(stream))
        {
            sql = await reader.ReadToEndAsync(cancellationToken);
        }

        try
        {
            await ExecuteAsync(connection, transaction, sql, cancellationToken);
        }
        catch (DbException ex)
        {
            throw new InvalidOperationException($"Migration {script.Scope} {script.Name} failed: {ex.Message}", ex);
        }

        await using (var record = connection.CreateCommand())
        {
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_versions (scope, version, name, applied_at) VALUES (@scope, @version, @name, @appliedAt)";
            AddParameter(record, "@scope", script.Scope);
            AddParameter(record, "@version", script.Version);
            AddParameter(record, "@name", script.Name);
            AddParameter(record, "@appliedAt", connection is SqliteConnection
                ? DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)
                : DateTimeOffset.UtcNow);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogApplied(logger, script.Scope, script.Name);
        return true;
    }

    private static async Task ExecuteAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 300; // a script may rebuild a large index
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static string FolderOf(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Postgres => "postgres",
        DatabaseProvider.Sqlite => "sqlite",
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown database provider."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Scope} {Script}")]
    private static partial void LogApplied(ILogger logger, string scope, string script);
}
