using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Verification.Platform.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Activity sources always on: ours (they carry trace ids into logs, the outbox and Audit) and the bus's.</summary>
    public static readonly string[] Sources = ["Verification.*", "MassTransit"];

    /// <summary>The framework's native sources (instrumentation packages are not on our feed): only when traces are exported, as they cost on every request.</summary>
    public static readonly string[] ExportedSources = ["Microsoft.AspNetCore", "System.Net.Http"];

    public static readonly string[] Meters = ["Verification.*", "MassTransit", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];

    /// <summary>
    /// Traces always (so trace ids reach logs, the outbox and Audit), exported over OTLP only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; metrics likewise; console logs with NIKs masked.
    /// </summary>
    public static WebApplicationBuilder AddVerificationTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        var resource = ResourceBuilder.CreateDefault().AddService(serviceName);
        builder.Services.AddSingleton(_ =>
        {
            var tracing = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(Sources);
            if (otlp) tracing.AddSource(ExportedSources).AddOtlpExporter();
            return tracing.Build();
        });
        builder.Services.AddSingleton(_ =>
        {
            var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(Meters);
            if (otlp) metrics.AddOtlpExporter();
            return metrics.Build();
        });
        builder.Services.AddHostedService<TelemetryStarter>();

        builder.Logging.ClearProviders();
        // Defaults an operator can override under Logging:LogLevel; EF Core's per-command lines would drown the rest.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddConsole(o => o.FormatterName = MaskedConsoleFormatter.FormatterName)
            .AddConsoleFormatter<MaskedConsoleFormatter, ConsoleFormatterOptions>();
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.SetResourceBuilder(resource);
                logging.IncludeFormattedMessage = true;
                logging.AddProcessor(new NikMaskingLogProcessor());
                logging.AddOtlpExporter();
            });
        }
        return builder;
    }

    /// <summary>Builds the providers when the host starts so their listeners exist before the first call.</summary>
    private sealed class TelemetryStarter(TracerProvider tracer, MeterProvider meter) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(tracer);
            GC.KeepAlive(meter);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            tracer.ForceFlush(2000);
            meter.ForceFlush(2000);
            return Task.CompletedTask;
        }
    }

    /// <summary>Masks NIK-shaped text in log bodies and attributes before export.</summary>
    private sealed class NikMaskingLogProcessor : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            if (data.FormattedMessage is { } message) data.FormattedMessage = NikRedaction.Mask(message);
            if (data.Body is { } body) data.Body = NikRedaction.Mask(body);
            if (data.Attributes is { } attributes)
            {
                data.Attributes = attributes.Select(a => a.Value is string s ? new KeyValuePair<string, object?>(a.Key, NikRedaction.Mask(s)) : a).ToList();
            }
        }
    }
}
