using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Verification.Platform.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Activity sources always on: ours, the bus's and the gRPC client's (they carry the trace id into logs, calls, the outbox and Audit).</summary>
    public static readonly string[] Sources = ["Verification.*", "MassTransit", "Grpc.Net.Client"];

    public static readonly string[] Meters = ["Verification.*", "MassTransit", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "Grpc.AspNetCore.Server", "Grpc.Net.Client"];

    /// <summary>
    /// OpenTelemetry through its hosting package: traces of ASP.NET Core (the gRPC server), HttpClient and the gRPC client,
    /// the bus and our own sources always (the trace id must reach logs, the outbox and Audit), NIKs masked in every span;
    /// PostgreSQL spans and runtime metrics only when exported; export over OTLP only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set (no outbound call the operator did not configure). Console logs with NIKs masked.
    /// </summary>
    public static WebApplicationBuilder AddVerificationTelemetry(this WebApplicationBuilder builder, string serviceName)
    {
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(Sources)
                    .AddAspNetCoreInstrumentation(o => o.RecordException = false)
                    .AddHttpClientInstrumentation(o => o.RecordException = false)
                    // First among processors, so every exporter gets the masked span.
                    .AddProcessor(new NikMaskingActivityProcessor());
                if (otlp) tracing.AddNpgsql().AddOtlpExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp) metrics.AddRuntimeInstrumentation().AddOtlpExporter();
            });

        builder.Logging.ClearProviders();
        // Defaults an operator can override under Logging:LogLevel; EF Core's per-command lines would drown the rest.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddConsole(o => o.FormatterName = MaskedConsoleFormatter.FormatterName)
            .AddConsoleFormatter<MaskedConsoleFormatter, ConsoleFormatterOptions>();
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.AddProcessor(new NikMaskingLogProcessor());
                logging.AddOtlpExporter();
            });
        }
        return builder;
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
