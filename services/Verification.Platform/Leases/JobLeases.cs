using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using Verification.Platform.Data;

namespace Verification.Platform.Leases;

/// <summary>A lease held on a named job: its holder and the fencing token that grows every time the holder changes.</summary>
public sealed record JobLease(string Job, string Holder, long Token)
{
    public override string ToString() => $"{Job} (token {Token})";
}

/// <summary>The lease passed to another replica (or ran out) before the work committed: nothing of it was written.</summary>
public sealed class LeaseLostException(JobLease lease)
    : Exception($"The lease on '{lease.Job}' with token {lease.Token} is no longer held by this replica: the work was not committed.")
{
    public JobLease Lease { get; } = lease;
}

/// <summary>
/// Leases on a module's background jobs, kept in its own database (<c>job_leases</c>), so that of N replicas exactly one
/// runs each job at a time and a replica killed mid-job leaves the job to another once its lease runs out.
/// </summary>
/// <remarks>
/// On PostgreSQL the database's clock decides expiry, so replicas' clocks may disagree. A lease is taken when it is free
/// or ran out; a new holder gets the next token. <see cref="FenceAsync"/> renews the lease inside the job's own
/// transaction and fails unless the token still holds: its row lock makes a takeover wait for that commit, so a writer
/// that lost its lease can never commit after its successor started. On SQLite (one process) the same table works.
/// </remarks>
public sealed class JobLeases(ModuleDatabase database, TimeProvider clock)
{
    public JobLeases(ModuleDatabase database)
        : this(database, TimeProvider.System)
    {
    }

    /// <summary>A holder name unique to one replica's use of a lease: host, process and a random part.</summary>
    public static string NewHolder() => $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Takes the lease on <paramref name="job"/> for <paramref name="duration"/>, or renews it if <paramref name="holder"/> holds it; null while another holder's lease runs.</summary>
    public async Task<JobLease?> TryAcquireAsync(string job, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(job);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        return await WithConnectionAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = connection is NpgsqlConnection
                ? """
                  INSERT INTO job_leases AS l (job, holder, token, acquired_at, expires_at)
                  VALUES (@job, @holder, 1, clock_timestamp(), clock_timestamp() + @duration)
                  ON CONFLICT (job) DO UPDATE SET
                      token = CASE WHEN l.holder = EXCLUDED.holder THEN l.token ELSE l.token + 1 END,
                      acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
                      holder = EXCLUDED.holder,
                      expires_at = EXCLUDED.expires_at
                  WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
                  RETURNING token
                  """
                : """
                  INSERT INTO job_leases AS l (job, holder, token, acquired_at, expires_at)
                  VALUES (@job, @holder, 1, @now, @expires)
                  ON CONFLICT (job) DO UPDATE SET
                      token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE l.token + 1 END,
                      acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END,
                      holder = excluded.holder,
                      expires_at = excluded.expires_at
                  WHERE l.holder = excluded.holder OR l.expires_at <= @now
                  RETURNING token
                  """;
            Bind(command, job, holder, duration);
            var token = await command.ExecuteScalarAsync(cancellationToken);
            return token is null or DBNull ? null : new JobLease(job, holder, Convert.ToInt64(token, System.Globalization.CultureInfo.InvariantCulture));
        }, cancellationToken);
    }

    /// <summary>Hands the lease back at once (a replica stopping cleanly), so another need not wait for it to run out.</summary>
    public async Task ReleaseAsync(JobLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await WithConnectionAsync<object?>(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = connection is NpgsqlConnection
                ? "UPDATE job_leases SET expires_at = clock_timestamp() WHERE job = @job AND holder = @holder AND token = @token"
                : "UPDATE job_leases SET expires_at = @now WHERE job = @job AND holder = @holder AND token = @token";
            Bind(command, lease.Job, lease.Holder, TimeSpan.Zero);
            AddParameter(command, "@token", lease.Token);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return null;
        }, cancellationToken);
    }

    /// <summary>
    /// In the job's own transaction: renews <paramref name="lease"/> for <paramref name="duration"/> and throws
    /// <see cref="LeaseLostException"/> unless it still holds, so the caller rolls back instead of committing.
    /// </summary>
    public async Task FenceAsync(DbConnection connection, DbTransaction transaction, JobLease lease, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(lease);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = connection is NpgsqlConnection
            ? "UPDATE job_leases SET expires_at = clock_timestamp() + @duration WHERE job = @job AND holder = @holder AND token = @token AND expires_at > clock_timestamp()"
            : "UPDATE job_leases SET expires_at = @expires WHERE job = @job AND holder = @holder AND token = @token AND expires_at > @now";
        Bind(command, lease.Job, lease.Holder, duration);
        AddParameter(command, "@token", lease.Token);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new LeaseLostException(lease);
        }
    }

    /// <summary>Who holds the lease on <paramref name="job"/> now (null when nobody does): for health reports and tests.</summary>
    public async Task<JobLease?> HolderAsync(string job, CancellationToken cancellationToken) =>
        await WithConnectionAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = connection is NpgsqlConnection
                ? "SELECT holder, token FROM job_leases WHERE job = @job AND expires_at > clock_timestamp()"
                : "SELECT holder, token FROM job_leases WHERE job = @job AND expires_at > @now";
            Bind(command, job, "", TimeSpan.Zero);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? new JobLease(job, reader.GetString(0), reader.GetInt64(1)) : null;
        }, cancellationToken);

    private async Task<T> WithConnectionAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        if (database.Provider == DatabaseProvider.Postgres)
        {
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return await work(connection);
        }

        // This process's SQLite writers queue in memory rather than on the file lock.
        var gate = SqliteWriteGate.For(database.ConnectionString);
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = new SqliteConnection(SqliteConnectionPragmas.WithBusyTimeout(database.ConnectionString));
            await connection.OpenAsync(cancellationToken);
            return await work(connection);
        }
        finally
        {
            gate.Release();
        }
    }

    private void Bind(DbCommand command, string job, string holder, TimeSpan duration)
    {
        AddParameter(command, "@job", job);
        AddParameter(command, "@holder", holder);
        if (command is NpgsqlCommand npgsql)
        {
            if (command.CommandText.Contains("@duration", StringComparison.Ordinal))
                npgsql.Parameters.Add(new NpgsqlParameter("@duration", NpgsqlDbType.Interval) { Value = duration });
            return;
        }

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        AddParameter(command, "@now", now);
        if (command.CommandText.Contains("@expires", StringComparison.Ordinal))
            AddParameter(command, "@expires", now + (long)duration.TotalMilliseconds);
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
