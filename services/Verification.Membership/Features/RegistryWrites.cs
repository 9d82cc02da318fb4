using System.Data.Common;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Verification.Membership.Data;
using Verification.Platform.Data;

namespace Verification.Membership.Features;

/// <summary>
/// How registry writes are serialised on each provider. PostgreSQL: a transaction-scoped advisory lock on the NIK (a
/// bigint already), so every writer of one person queues, in any process. SQLite: the platform's in-process write gate
/// and an IMMEDIATE transaction (one writer per file anyway).
/// </summary>
internal static class RegistryWrites
{
    public static bool IsPostgres(this MembershipDbContext db) => db.Database.IsNpgsql();

    /// <summary>Queues this process's SQLite writers in memory instead of on the file lock; null on PostgreSQL.</summary>
    public static async Task<SemaphoreSlim?> EnterGateAsync(this MembershipDbContext db, CancellationToken cancellationToken)
    {
        if (db.IsPostgres()) return null;
        var gate = SqliteWriteGate.For(db.Database.GetConnectionString() ?? "");
        await gate.WaitAsync(cancellationToken);
        return gate;
    }

    /// <summary>On PostgreSQL, holds the person's lock until the transaction ends; on SQLite the write transaction already excludes everyone.</summary>
    public static async Task LockPersonAsync(this MembershipDbContext db, long nik, CancellationToken cancellationToken)
    {
        if (db.IsPostgres()) await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({nik})", cancellationToken);
    }

    /// <summary>
    /// The next participant-number sequence, inside the caller's transaction: <c>nextval</c> on PostgreSQL; on SQLite
    /// the counter row, incremented by the transaction that will insert the participant.
    /// </summary>
    public static async Task<long> AllocateSequenceAsync(this MembershipDbContext db, CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction.");
        command.CommandText = db.IsPostgres()
            ? "SELECT nextval('participant_number_seq')"
            : "UPDATE participant_number_counter SET last_sequence = last_sequence + 1 WHERE id = 1 RETURNING last_sequence";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>True for a unique-key violation on either provider.</summary>
    public static bool IsUniqueViolation(this DbUpdateException exception) => exception.InnerException switch
    {
        Npgsql.PostgresException postgres => postgres.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode == 19,
        DbException => false,
        _ => false,
    };
}
