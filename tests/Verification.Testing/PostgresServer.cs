using Npgsql;

namespace Verification.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 for integration tests: started once per test run on a free loopback port (trust auth,
/// fsync off, socket in its temporary directory) and stopped when the test process exits.
/// <c>VERIFICATION_TEST_POSTGRES</c> (a connection string with rights to create databases) replaces it.
/// </summary>
public sealed class PostgresServer
{
    public const string OverrideVariable = "VERIFICATION_TEST_POSTGRES";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private static readonly Lazy<Task<PostgresServer>> Shared = new(() => StartSharedAsync(CancellationToken.None));

    private readonly ThrowawayDirectory? directory;
    private readonly SemaphoreSlim control = new(1, 1);
    private readonly bool durable;

    private PostgresServer(string adminConnectionString, ThrowawayDirectory? directory, int port, bool durable = false)
    {
        AdminConnectionString = adminConnectionString;
        this.directory = directory;
        Port = port;
        this.durable = durable;
    }

    /// <summary>Connection string to the maintenance database, as the superuser.</summary>
    public string AdminConnectionString { get; }

    public int Port { get; }

    /// <summary>True when <c>VERIFICATION_TEST_POSTGRES</c> named a server this fixture does not own.</summary>
    public bool IsExternal => directory is null;

    /// <summary>The instance shared by every test of this run.</summary>
    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    /// <summary>
    /// A throwaway server of its own (not shared, not replaced by the override variable), stopped when this process
    /// exits. <paramref name="durable"/> keeps fsync and synchronous commit on, for figures worth publishing.
    /// </summary>
    public static Task<PostgresServer> StartDedicatedAsync(bool durable, CancellationToken cancellationToken = default) =>
        StartOwnedAsync(durable, cancellationToken);

    /// <summary>True when the server runs with fsync and synchronous commit on.</summary>
    public bool IsDurable => durable;

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, disconnecting its sessions.</summary>
    public async Task DropDatabaseAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database
            ?? throw new ArgumentException("The connection string names no database.", nameof(connectionString));
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Stops the server (fast shutdown), keeping its data and port, for fault tests.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await PgCtlAsync(owned, ["-D", DataDirectory(owned), "-m", "fast", "-w", "stop"], cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Starts the server again on the same port after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await StartServerAsync(owned, Port, durable, cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    private static async Task<PostgresServer> StartSharedAsync(CancellationToken cancellationToken)
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            var builder = new NpgsqlConnectionStringBuilder(external);
            return new PostgresServer(external, null, builder.Port);
        }

        return await StartOwnedAsync(durable: false, cancellationToken);
    }

    private static async Task<PostgresServer> StartOwnedAsync(bool durable, CancellationToken cancellationToken)
    {
        ThrowawayDirectory.RequireExecutable($"{BinDirectory}/initdb", "postgresql-15", OverrideVariable);
        ThrowawayDirectory.RequireExecutable($"{BinDirectory}/pg_ctl", "postgresql-15", OverrideVariable);
        if (ExternalProcess.IsRoot && !File.Exists("/usr/sbin/runuser") && !File.Exists("/sbin/runuser"))
        {
            throw new InvalidOperationException("runuser is missing: install the Debian package 'util-linux'.");
        }

        var directory = ThrowawayDirectory.Create("postgres");
        await directory.ChownAsync("postgres", cancellationToken);
        var data = DataDirectory(directory);
        await PgCtlToolAsync("initdb", [
            "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        ], cancellationToken);
        await directory.StartWatchdogAsync(
            $"{RunAs()} {BinDirectory}/pg_ctl -D {ExternalProcess.Quote(data)} -m immediate -w stop >/dev/null 2>&1",
            cancellationToken);

        var port = ExternalProcess.FreeLoopbackPort();
        await StartServerAsync(directory, port, durable, cancellationToken);
        var admin = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = "postgres",
            IncludeErrorDetail = true,
            MaxPoolSize = 20,
        }.ConnectionString;
        return new PostgresServer(admin, directory, port, durable);
    }

    private static Task StartServerAsync(ThrowawayDirectory directory, int port, bool durable, CancellationToken cancellationToken)
    {
        // fsync and synchronous commit off: throwaway test data, never for published benchmarks (durable keeps them on).
        var serverOptions = durable
            ? $"-p {port} -k {directory.Path} -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_connections=500"
            : $"-p {port} -k {directory.Path} -c listen_addresses=127.0.0.1 -c fsync=off " +
              "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        return PgCtlAsync(directory, [
            "-D", DataDirectory(directory), "-l", Path.Combine(directory.Path, "postgres.log"), "-w", "-t", "60",
            "-o", serverOptions, "start",
        ], cancellationToken);
    }

    private static Task PgCtlAsync(ThrowawayDirectory directory, string[] arguments, CancellationToken cancellationToken) =>
        PgCtlToolAsync("pg_ctl", arguments, cancellationToken);

    private static Task PgCtlToolAsync(string tool, string[] arguments, CancellationToken cancellationToken) =>
        ExternalProcess.IsRoot
            ? ExternalProcess.RunAsync("runuser", ["-u", "postgres", "--", $"{BinDirectory}/{tool}", .. arguments], cancellationToken: cancellationToken)
            : ExternalProcess.RunAsync($"{BinDirectory}/{tool}", arguments, cancellationToken: cancellationToken);

    private static string RunAs() => ExternalProcess.IsRoot ? "runuser -u postgres --" : "";

    private static string DataDirectory(ThrowawayDirectory directory) => Path.Combine(directory.Path, "data");

    private ThrowawayDirectory RequireOwned() => directory ?? throw new InvalidOperationException(
        $"This PostgreSQL comes from {OverrideVariable} and is not owned by the tests: it cannot be stopped or started.");
}
