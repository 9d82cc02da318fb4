using Verification.Platform.Privacy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Features.Reconcile;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Verification.Testing;

namespace Verification.Kur.Tests.Support;

/// <summary>One KUR database per provider for the tests of a class, made on first use; each test works on loans of its own.</summary>
public sealed class KurDatabases : IAsyncLifetime
{
    private readonly Dictionary<DatabaseProvider, Task<KurDatabase>> _databases = [];

    public Task<KurDatabase> OnAsync(DatabaseProvider provider)
    {
        lock (_databases)
        {
            if (!_databases.TryGetValue(provider, out var database)) _databases[provider] = database = KurDatabase.CreateAsync(provider);
            return database;
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases.Values) await (await database).DisposeAsync();
    }
}

/// <summary>
/// A migrated KUR database of its own, a temporary SQLite file or a fresh database on the shared throwaway PostgreSQL,
/// and the features over the store the module would choose for it, for tests without gRPC.
/// </summary>
public sealed class KurDatabase : IAsyncDisposable
{
    private readonly ModuleDatabase _database;
    private readonly string? _directory;
    private readonly PostgresServer? _server;
    private readonly OutboxSignal<KurDbContext> _outbox = new();
    private PostgresKurWrites? _writes;

    private KurDatabase(ModuleDatabase database, string? directory, PostgresServer? server)
    {
        _database = database;
        _directory = directory;
        _server = server;
    }

    public static readonly BorrowerFingerprint Fingerprint = new(new byte[32]);

    public DatabaseProvider Provider => _database.Provider;

    public static async Task<KurDatabase> CreateAsync(DatabaseProvider provider)
    {
        KurDatabase created;
        if (provider == DatabaseProvider.Postgres)
        {
            var server = await PostgresServer.SharedAsync();
            created = new KurDatabase(new ModuleDatabase("kur", provider, await server.CreateDatabaseAsync("kur")), null, server);
        }
        else
        {
            var directory = Path.Combine(Path.GetTempPath(), "verification-kur-tests-" + Guid.NewGuid().ToString("N"));
            created = new KurDatabase(new ModuleDatabase("kur", provider, $"Data Source={Path.Combine(directory, "kur.db")}"), directory, null);
        }

        await new SchemaMigrator().ApplyModuleAsync(created._database, typeof(KurDbContext).Assembly, "Verification.Kur.Data.Migrations", CancellationToken.None);
        if (provider == DatabaseProvider.Postgres)
        {
            // The coalesced writes run as KurModule runs them: a hosted service of their own.
            created._writes = new PostgresKurWrites(created._database, created._outbox);
            await created._writes.StartAsync(CancellationToken.None);
        }

        return created;
    }

    /// <summary>The coalesced writes of the PostgreSQL store (none on SQLite).</summary>
    internal PostgresKurWrites Writes => _writes ?? throw new InvalidOperationException("Only the PostgreSQL store coalesces its writes.");

    public string ConnectionString => _database.ConnectionString;

    public KurDbContext NewContext(params IInterceptor[] interceptors) =>
        new(new DbContextOptionsBuilder<KurDbContext>().UseModuleDatabase(_database).AddInterceptors(interceptors).Options);

    /// <summary>The store KurModule registers for this provider, on a DbContext of its own, as one request would get it.</summary>
    public KurStore Store() => Provider == DatabaseProvider.Postgres ? new PostgresKurStore(NewContext(), _writes!) : new SqliteKurStore(NewContext());

    public BorrowerEnrolment Enrolment(IMembershipRegistry membership, TimeProvider time) =>
        new(Store(), membership, Fingerprint, Sealer, KurReferenceData.Embedded, time, NullLogger<BorrowerEnrolment>.Instance);

    /// <summary>Seals borrowers' NIKs in events to the test process's pair.</summary>
    public static NikSealer Sealer { get; } = new(NikSealing.ReadPublicKey(TestNikKeys.PublicKeyPath));

    public EnrolmentCancellation Cancellation(IMembershipRegistry membership, TimeProvider time) =>
        new(Store(), membership, time, NullLogger<EnrolmentCancellation>.Instance);

    public EnrolmentReader Reader() => new(Store());

    /// <summary>The rows (claims and records) of one loan reference, of any bank.</summary>
    public async Task<List<KurEnrolmentRecord>> RecordsAsync(string loanReference)
    {
        await using var db = NewContext();
        return await db.Enrolments.AsNoTracking().Where(e => e.LoanReference == loanReference).ToListAsync();
    }

    /// <summary>The outbox rows of the events that name one loan reference, oldest first.</summary>
    public async Task<List<OutboxMessage>> OutboxAsync(string loanReference)
    {
        await using var db = NewContext();
        return await db.OutboxMessages.AsNoTracking().Where(m => m.Payload.Contains(loanReference)).OrderBy(m => m.SequenceId).ToListAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_writes is not null)
        {
            await _writes.StopAsync(CancellationToken.None);
            _writes.Dispose();
        }

        if (_server is not null)
        {
            await _server.DropDatabaseAsync(_database.ConnectionString);
            return;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder.
        }
    }
}
