using Microsoft.Extensions.DependencyInjection;
using Verification.Platform.Data;
using Verification.Prakerja.Data;
using Verification.Testing;

namespace Verification.Prakerja.Tests.Support;

/// <summary>A migrated Prakerja database (a SQLite file, or a fresh database on the shared PostgreSQL) and the store over it, without a host.</summary>
public sealed class StoreDatabase : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly string? _directory;

    private StoreDatabase(ServiceProvider services, PrakerjaStore store, string? directory)
    {
        _services = services;
        Store = store;
        _directory = directory;
    }

    public PrakerjaStore Store { get; }

    public static async Task<StoreDatabase> CreateAsync(DatabaseProvider provider)
    {
        string? directory = null;
        ModuleDatabase database;
        if (provider == DatabaseProvider.Postgres)
        {
            database = new ModuleDatabase("prakerja", provider, await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("prakerja"));
        }
        else
        {
            directory = Path.Combine(Path.GetTempPath(), "verification-prakerja-store-" + Guid.NewGuid().ToString("N"));
            database = new ModuleDatabase("prakerja", provider, $"Data Source={Path.Combine(directory, "prakerja.db")}");
        }

        await new SchemaMigrator().ApplyModuleAsync(database, typeof(PrakerjaDbContext).Assembly, "Verification.Prakerja.Data.Migrations", CancellationToken.None);
        var services = new ServiceCollection().AddModuleDatabase<PrakerjaDbContext>(database).BuildServiceProvider();
        return new StoreDatabase(services, PrakerjaStore.For(database, services.GetRequiredService<IServiceScopeFactory>()), directory);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await _services.DisposeAsync();
        if (_directory is null) return;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder.
        }
    }
}
