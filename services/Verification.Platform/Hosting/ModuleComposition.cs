using Grpc.HealthCheck;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

namespace Verification.Platform.Hosting;

/// <summary>What every module needs, registered once: the clock, its database (migrated at start), its outbox relay and its gRPC health.</summary>
public static class ModuleComposition
{
    /// <summary>
    /// Registers <typeparamref name="TContext"/> on the module's database with its migrations (scripts under
    /// <c>&lt;context namespace&gt;.Migrations</c>), the outbox relay, and a health reporter that keeps
    /// <paramref name="grpcService"/> SERVING while the database (and, on RabbitMQ, the bus) answers and <paramref name="serving"/>,
    /// the module's own condition, holds. Returns the database.
    /// </summary>
    public static ModuleDatabase AddModule<TContext>(this IServiceCollection services, VerificationHostContext host, string name, string grpcService,
        Action<OutboxOptions>? outbox = null, Func<IServiceProvider, bool>? serving = null)
        where TContext : DbContext
    {
        var database = host.Database.For(name);
        services.TryAddSingleton(TimeProvider.System);
        services.AddModuleDatabase<TContext>(database, typeof(TContext).Assembly, typeof(TContext).Namespace + ".Migrations");
        services.AddOutboxRelay<TContext>(outbox);
        var watchBus = host.Bus.Transport == BusTransport.RabbitMq;
        services.AddHostedService(sp => new ModuleHealthReporter<TContext>(
            sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<HealthServiceImpl>(), [grpcService], watchBus,
            serving is null ? null : () => serving(sp)));
        return database;
    }
}
