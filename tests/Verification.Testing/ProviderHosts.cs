using Verification.Platform.Data;
using Xunit;

namespace Verification.Testing;

/// <summary>
/// One host per database provider (SQLite; PostgreSQL), started together and shared by a class's tests: a test takes
/// its provider as a theory argument (<see cref="BothProvidersAttribute"/>) and asks <see cref="On"/> for the host.
/// </summary>
public abstract class ProviderHosts<THost> : IAsyncLifetime
    where THost : class, IAsyncDisposable
{
    private THost? _sqlite;
    private THost? _postgres;

    public THost On(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => _sqlite!,
        DatabaseProvider.Postgres => _postgres!,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Not a database provider."),
    };

    public async Task InitializeAsync()
    {
        var sqlite = StartOnAsync(DatabaseProvider.Sqlite);
        var postgres = StartOnAsync(DatabaseProvider.Postgres);
        try
        {
            await Task.WhenAll(sqlite, postgres);
        }
        finally
        {
            _sqlite = sqlite.IsCompletedSuccessfully ? sqlite.Result : null;
            _postgres = postgres.IsCompletedSuccessfully ? postgres.Result : null;
        }
    }

    public async Task DisposeAsync()
    {
        if (_sqlite is not null) await _sqlite.DisposeAsync();
        if (_postgres is not null) await _postgres.DisposeAsync();
    }

    /// <summary>Starts the host on <paramref name="provider"/>.</summary>
    protected abstract Task<THost> StartOnAsync(DatabaseProvider provider);
}
