using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Verification.Platform.Outbox;

namespace Verification.Platform.Data;

public static class ModuleDatabaseServiceCollectionExtensions
{
    /// <summary>
    /// Registers a module's DbContext on its database, wakes the module's outbox relay after each commit, and
    /// migrates the database before the host starts anything else: the platform tables always, then the module's
    /// scripts under <paramref name="migrationsNamespace"/> in <paramref name="migrationsAssembly"/> when given.
    /// </summary>
    /// <example>
    /// <code>
    /// services.AddModuleDatabase&lt;MembershipDbContext&gt;(
    ///     databaseOptions.For("membership"), typeof(MembershipDbContext).Assembly, "Verification.Membership.Data.Migrations");
    /// </code>
    /// </example>
    public static IServiceCollection AddModuleDatabase<TContext>(
        this IServiceCollection services,
        ModuleDatabase database,
        Assembly? migrationsAssembly = null,
        string? migrationsNamespace = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(database);
        services.TryAddSingleton<OutboxSignal<TContext>>();
        services.TryAddSingleton<OutboxCommitInterceptor<TContext>>();
        services.TryAddSingleton<SchemaMigrator>(sp => new SchemaMigrator(
            sp.GetService<ILogger<SchemaMigrator>>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<SchemaMigrator>.Instance));
        services.AddKeyedSingleton<ModuleDatabase>(typeof(TContext), database); // lets health checks and tools find a module's database by its context type

        // Pooled: options are built once and context instances reused, instead of both per request (measured: most of a read's cost).
        services.AddDbContextPool<TContext>((sp, options) => options
            .UseModuleDatabase(database)
            .AddInterceptors(sp.GetRequiredService<OutboxCommitInterceptor<TContext>>()));

        if (migrationsAssembly is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(migrationsNamespace);
        }

        services.AddHostedService(sp => new ModuleSchemaInitializer<TContext>(
            database, migrationsAssembly, migrationsNamespace, sp.GetRequiredService<SchemaMigrator>()));

        return services;
    }
}
