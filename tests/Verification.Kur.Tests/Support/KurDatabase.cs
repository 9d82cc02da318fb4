using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Features.Reconcile;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Kur.Tests.Support;

/// <summary>A migrated KUR database in a temporary SQLite file, and the features over it, for tests without gRPC.</summary>
public sealed class KurDatabase : IDisposable
{
    private readonly string _directory;
    private readonly ModuleDatabase _database;

    private KurDatabase(string directory, ModuleDatabase database)
    {
        _directory = directory;
        _database = database;
    }

    public static readonly BorrowerFingerprint Fingerprint = new(new byte[32]);

    public static async Task<KurDatabase> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "verification-kur-tests-" + Guid.NewGuid().ToString("N"));
        var database = new ModuleDatabase("kur", DatabaseProvider.Sqlite, $"Data Source={Path.Combine(directory, "kur.db")}");
        await new SchemaMigrator().ApplyModuleAsync(database, typeof(KurDbContext).Assembly, "Verification.Kur.Data.Migrations", CancellationToken.None);
        return new KurDatabase(directory, database);
    }

    public KurDbContext NewContext() => new(new DbContextOptionsBuilder<KurDbContext>().UseModuleDatabase(_database).Options);

    /// <summary>A feature on its own DbContext, as one request would get it.</summary>
    public BorrowerEnrolment Enrolment(IMembershipRegistry membership, TimeProvider time) =>
        new(NewContext(), membership, Fingerprint, KurReferenceData.Embedded, time, NullLogger<BorrowerEnrolment>.Instance, new OutboxSignal<KurDbContext>());

    public EnrolmentCancellation Cancellation(IMembershipRegistry membership, TimeProvider time) =>
        new(NewContext(), membership, time, NullLogger<EnrolmentCancellation>.Instance);

    public EnrolmentReader Reader() => new(NewContext());

    public async Task<List<KurEnrolmentRecord>> RecordsAsync()
    {
        await using var db = NewContext();
        return await db.Enrolments.AsNoTracking().ToListAsync();
    }

    public async Task<List<OutboxMessage>> OutboxAsync()
    {
        await using var db = NewContext();
        return await db.OutboxMessages.AsNoTracking().OrderBy(m => m.SequenceId).ToListAsync();
    }

    public void Dispose()
    {
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
