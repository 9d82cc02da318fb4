using Docker.DotNet.Models;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Verification.Testing;

/// <summary>
/// A throwaway PostgreSQL 15 for integration tests: a container (Testcontainers) started once per test process and
/// shared by its collections, published on a loopback port of its own that survives a stop and start, fsync off,
/// removed when the test process exits. <c>VERIFICATION_TEST_POSTGRES</c> (a connection string with rights to create
/// databases) replaces it; <c>VERIFICATION_TEST_POSTGRES_IMAGE</c> names another image (default
/// <c>verification-postgres:15</c> from deploy/build-images.sh; the official <c>postgres:15</c> works the same).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "One instance per test process, alive until it exits: nothing could dispose it earlier, and the semaphore holds no wait handle.")]
public sealed class PostgresServer
{
    public const string OverrideVariable = "VERIFICATION_TEST_POSTGRES";
    private const int ContainerPort = 5432;

    private static readonly Lazy<Task<PostgresServer>> Shared = new(() => StartSharedAsync(CancellationToken.None));

    private readonly PostgreSqlContainer? container;
    private readonly SemaphoreSlim control = new(1, 1);
    private readonly bool durable;

    private PostgresServer(string adminConnectionString, PostgreSqlContainer? container, int port, bool durable = false)
    {
        AdminConnectionString = adminConnectionString;
        this.container = container;
        Port = port;
        this.durable = durable;
    }

    /// <summary>Connection string to the maintenance database, as the superuser.</summary>
    public string AdminConnectionString { get; }

    public int Port { get; }

    /// <summary>True when <c>VERIFICATION_TEST_POSTGRES</c> named a server this fixture does not own.</summary>
    public bool IsExternal => container is null;

    /// <summary>The container's id, for tests that act on it with Docker.</summary>
    public string? ContainerId => container?.Id;

    /// <summary>The instance shared by every test of this process.</summary>
    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    /// <summary>
    /// A throwaway server of its own (not shared, not replaced by the override variable), removed when this process
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

    /// <summary>Stops the container (fast shutdown: sessions cut), keeping its data and port, for fault tests.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await owned.StopAsync(cancellationToken);
        }
        finally
        {
            control.Release();
        }
    }

    /// <summary>Starts the container again, on the same port and with the same data, after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var owned = RequireOwned();
        await control.WaitAsync(cancellationToken);
        try
        {
            await owned.StartAsync(cancellationToken);
            await WaitUntilAcceptingAsync(AdminConnectionString, cancellationToken);
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
        var image = TestContainers.PostgresImage;
        var port = ExternalProcess.FreeLoopbackPort();
        var builder = new PostgreSqlBuilder(image)
            .WithLabel(TestContainers.RunLabel, TestContainers.RunId)
            .WithPortBinding(port, ContainerPort)
            .WithCreateParameterModifier(TestContainers.OnLoopback)
            // Parallel hash joins of the large-batch tests need more than Docker's 64 MB of /dev/shm.
            .WithCreateParameterModifier(parameters => (parameters.HostConfig ??= new HostConfig()).ShmSize = 1L << 30);
        // The builder already turns fsync, full-page writes and synchronous commit off: throwaway test data.
        builder = durable
            ? builder.WithCommand("-c", "fsync=on", "-c", "full_page_writes=on", "-c", "synchronous_commit=on",
                "-c", "shared_buffers=512MB", "-c", "max_connections=500")
            : builder.WithCommand("-c", "max_connections=300");
        var container = await TestContainers.StartAsync(builder.Build, "PostgreSQL", image, cancellationToken);

        var admin = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = PostgreSqlBuilder.DefaultUsername,
            Password = PostgreSqlBuilder.DefaultPassword,
            Database = "postgres",
            IncludeErrorDetail = true,
            MaxPoolSize = 20,
        }.ConnectionString;
        await WaitUntilAcceptingAsync(admin, cancellationToken);
        return new PostgresServer(admin, container, port, durable);
    }

    // pg_isready inside the container can answer before the published port forwards: wait for a real session.
    private static async Task WaitUntilAcceptingAsync(string connectionString, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var probe = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private PostgreSqlContainer RequireOwned() => container ?? throw new InvalidOperationException(
        $"This PostgreSQL comes from {OverrideVariable} and is not owned by the tests: it cannot be stopped or started.");
}
