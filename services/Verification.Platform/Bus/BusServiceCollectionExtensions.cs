using System.ComponentModel.DataAnnotations;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Verification.Platform.Bus;

public static class BusServiceCollectionExtensions
{
    /// <summary>MassTransit's environment switch for its usage telemetry, read when the bus is built.</summary>
    public const string UsageTelemetrySwitch = "MASSTRANSIT_USAGE_TELEMETRY";

    /// <summary>
    /// Configures MassTransit on the chosen transport: kebab-case endpoint names, a short exponential retry in every
    /// consumer (validation errors are not retried), then the endpoint's <c>_error</c> queue and a published
    /// <c>Fault&lt;T&gt;</c>. On RabbitMQ, exchanges and queues are durable and publishes wait for publisher confirms.
    /// </summary>
    /// <param name="configureConsumers">Registers consumers, e.g. <c>x =&gt; x.AddConsumer&lt;AuditEntryRecorder&gt;()</c>.</param>
    /// <param name="configureBus">Extra transport-neutral configuration, applied before the endpoints are configured.</param>
    public static IServiceCollection AddVerificationBus(
        this IServiceCollection services,
        BusOptions options,
        Action<IBusRegistrationConfigurator>? configureConsumers = null,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configureBus = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // MassTransit reports usage to its vendor over the internet unless told not to, and the environment variable
        // overrides the option: both are set, because this host makes no outbound call its operator did not configure.
        Environment.SetEnvironmentVariable(UsageTelemetrySwitch, "false");
        services.AddMassTransit(bus =>
        {
            bus.ConfigureUsageTelemetryOptions(telemetry => telemetry.Enabled = false);
            bus.SetKebabCaseEndpointNameFormatter();
            configureConsumers?.Invoke(bus);
            switch (options.Transport)
            {
                case BusTransport.InMemory:
                    bus.UsingInMemory((context, cfg) =>
                    {
                        ConfigureCommon(context, cfg, options, configureBus);
                        cfg.ConfigureEndpoints(context);
                    });
                    break;
                case BusTransport.RabbitMq:
                    var rabbit = options.RabbitMq;
                    // Consumers back as soon as the broker is, not on MassTransit's reconnect schedule (up to 30 s).
                    bus.AddReceiveEndpointObserver(sp => new ReceiveEndpointReconnector(
                        rabbit, sp.GetRequiredService<ILoggerFactory>().CreateLogger<ReceiveEndpointReconnector>()));
                    if (options.QuorumQueues)
                    {
                        bus.AddConfigureEndpointsCallback((_, _, endpoint) =>
                        {
                            if (endpoint is IRabbitMqReceiveEndpointConfigurator queue) queue.SetQuorumQueue();
                        });
                    }

                    bus.UsingRabbitMq((context, cfg) =>
                    {
                        cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, host =>
                        {
                            host.Username(rabbit.Username);
                            host.Password(rabbit.Password);
                            // The default in MassTransit 8, stated so the outbox's guarantee does not hang on a default.
                            host.PublisherConfirmation = true;
                        });
                        cfg.Durable = true;
                        ConfigureCommon(context, cfg, options, configureBus);
                        cfg.ConfigureEndpoints(context);
                    });
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(options), options.Transport, "Unknown bus transport.");
            }
        });
        return services;
    }

    private static void ConfigureCommon(
        IBusRegistrationContext context,
        IBusFactoryConfigurator cfg,
        BusOptions options,
        Action<IBusRegistrationContext, IBusFactoryConfigurator>? configureBus)
    {
        cfg.UseMessageRetry(retry =>
        {
            retry.Exponential(
                options.RetryLimit,
                options.RetryMinInterval,
                options.RetryMaxInterval,
                TimeSpan.FromTicks(Math.Max(1, (options.RetryMaxInterval - options.RetryMinInterval).Ticks / Math.Max(1, options.RetryLimit))));
            retry.Ignore<ValidationException>();
            // A sealed NIK that does not open will not open on a retry either: straight to the error queue.
            retry.Ignore<Privacy.SealedNikException>();
            // Neither does an event of a batch whose type or payload this consumer cannot read.
            retry.Ignore<Outbox.UnreadableBatchedEventException>();
        });
        configureBus?.Invoke(context, cfg);
    }
}
