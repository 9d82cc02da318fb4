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
    /// On PostgreSQL, holds the locks of several persons until the transaction ends, taken in ascending NIK order so two
    /// chunks sharing persons never wait on each other in a cycle; on SQLite the write transaction already excludes everyone.
    /// </summary>
    public static async Task LockPersonsAsync(this MembershipDbContext db, IReadOnlyList<long> ascendingNiks, CancellationToken cancellationToken)
    {
        if (!db.IsPostgres() || ascendingNiks.Count == 0) return;
        var niks = ascendingNiks.ToArray();
        // The ordered subquery fixes the order in which the locks are taken.
        await db.Database.ExecuteSqlAsync(
            $"SELECT count(pg_advisory_xact_lock(n)) FROM (SELECT n FROM unnest({niks}) AS n ORDER BY n) AS ordered", cancellationToken);
    }

    /// <summary>
    /// <paramref name="count"/> new participant-number sequences, inside the caller's transaction, in one statement: a
    /// block of <c>nextval</c> on PostgreSQL; on SQLite the counter row moved by <paramref name="count"/> at once.
    /// </summary>
    public static async Task<IReadOnlyList<long>> AllocateSequencesAsync(this MembershipDbContext db, int count, CancellationToken cancellationToken)
    {
        if (count == 0) return [];
        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Participant numbers are allocated inside the enrolment's transaction.");
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@count";
        parameter.Value = count;
        command.Parameters.Add(parameter);
        if (db.IsPostgres())
        {
            command.CommandText = "SELECT nextval('participant_number_seq') FROM generate_series(1, @count)";
            var ids = new List<long>(count);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
            return ids;
        }

        command.CommandText = "UPDATE participant_number_counter SET last_sequence = last_sequence + @count WHERE id = 1 RETURNING last_sequence";
        var last = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, count).Select(i => last - count + 1 + i)];
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
