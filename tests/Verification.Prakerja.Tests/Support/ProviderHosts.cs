using System.Collections.Concurrent;
using Verification.Platform.Data;

namespace Verification.Prakerja.Tests.Support;

/// <summary>The providers a test of the data path runs on: SQLite (monolithic mode) and PostgreSQL (production).</summary>
public static class Providers
{
    public static TheoryData<DatabaseProvider> Both => [DatabaseProvider.Sqlite, DatabaseProvider.Postgres];
}

/// <summary>One host per provider, started when a test of the class first asks for it and shared by the class's tests.</summary>
public sealed class ProviderHostsFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<DatabaseProvider, Lazy<Task<PrakerjaHost>>> _hosts = new();

    public Task<PrakerjaHost> HostAsync(DatabaseProvider provider) =>
        _hosts.GetOrAdd(provider, p => new Lazy<Task<PrakerjaHost>>(() => PrakerjaHost.StartOnAsync(p))).Value;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts.Values)
        {
            if (host.Value.IsCompletedSuccessfully) await host.Value.Result.DisposeAsync();
        }
    }
}
