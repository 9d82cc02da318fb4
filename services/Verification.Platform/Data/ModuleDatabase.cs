namespace Verification.Platform.Data;

/// <summary>Which relational engine a module's database runs on.</summary>
public enum DatabaseProvider
{
    /// <summary>A local file under the data directory: the monolithic default.</summary>
    Sqlite,

    /// <summary>One PostgreSQL database per module: microservices mode.</summary>
    Postgres,
}

/// <summary>Where one module keeps its own tables.</summary>
public sealed record ModuleDatabase(string Module, DatabaseProvider Provider, string ConnectionString)
{
    public override string ToString() => $"{Module} ({Provider})"; // never the connection string: it may hold a password
}

/// <summary>Bound from <c>Verification:Database</c>: one provider for the process, one connection string per module.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Verification:Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Where SQLite files go when a module has no connection string of its own.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Module name (e.g. "membership") → connection string.</summary>
    public Dictionary<string, string> ConnectionStrings { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public ModuleDatabase For(string module)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(module);
        if (ConnectionStrings.TryGetValue(module, out var configured) && !string.IsNullOrWhiteSpace(configured))
        {
            return new ModuleDatabase(module, Provider, configured);
        }

        return Provider switch
        {
            DatabaseProvider.Sqlite => new ModuleDatabase(
                module, Provider, $"Data Source={Path.Combine(DataDirectory, module.ToLowerInvariant() + ".db")}"),
            _ => throw new InvalidOperationException(
                $"No connection string for module '{module}': set {SectionName}:ConnectionStrings:{module}."),
        };
    }
}
