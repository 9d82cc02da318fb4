using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace Verification.Platform.Data;

/// <summary>
/// Migrates one module's database in <see cref="IHostedLifecycleService.StartingAsync"/>, which the host runs
/// before any hosted service starts: the bus's consumers and the outbox relay never see a missing table.
/// </summary>
/// <typeparam name="TContext">Generic so each module's initializer is its own hosted service registration.</typeparam>
public sealed class ModuleSchemaInitializer<TContext>(
    ModuleDatabase database, Assembly? moduleAssembly, string? moduleResourceNamespace, SchemaMigrator migrator)
    : IHostedLifecycleService
    where TContext : DbContext
{
    public Task StartingAsync(CancellationToken cancellationToken) =>
        migrator.ApplyModuleAsync(database, moduleAssembly, moduleResourceNamespace, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
