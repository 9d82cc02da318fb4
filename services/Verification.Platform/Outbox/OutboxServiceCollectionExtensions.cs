using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Verification.Platform.Outbox;

public static class OutboxServiceCollectionExtensions
{
    /// <summary>
    /// Runs the outbox relay of one module DbContext as a hosted service (register the DbContext with
    /// <c>AddModuleDatabase</c> and the bus with <c>AddVerificationBus</c>). Resolve
    /// <see cref="OutboxRelay{TContext}"/> to call <see cref="OutboxRelay{TContext}.FlushAsync"/>.
    /// </summary>
    public static IServiceCollection AddOutboxRelay<TContext>(
        this IServiceCollection services, Action<OutboxOptions>? configure = null)
        where TContext : DbContext
    {
        services.TryAddSingleton<OutboxSignal<TContext>>();
        services.TryAddSingleton<OutboxEventTypes>();
        services.AddOptions<OutboxOptions>(OutboxNames.OptionsOf<TContext>())
            .Configure(options => configure?.Invoke(options))
            .Validate(o => o.BatchSize > 0 && o.PublishConcurrency > 0 && o.EventsPerMessage > 0 && o.MaxMessageBytes > 0 && o.PollInterval > TimeSpan.Zero && o.PublishTimeout > TimeSpan.Zero
                && o.InitialBackoff > TimeSpan.Zero && o.MaxBackoff >= o.InitialBackoff, "Invalid outbox options.");
        services.TryAddSingleton<OutboxRelay<TContext>>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay<TContext>>());
        return services;
    }
}
