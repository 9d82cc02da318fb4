using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Verification.Rpc;

/// <summary>Traces and metrics named by the OpenTelemetry RPC semantic conventions.</summary>
public static class RpcTelemetry
{
    public const string SourceName = "Verification.Rpc";

    public static readonly ActivitySource ActivitySource = new(SourceName, "1.0.0");

    public static readonly Meter Meter = new(SourceName, "1.0.0");

    public static readonly Histogram<double> ServerDuration =
        Meter.CreateHistogram<double>("rpc.server.duration", "ms", "Duration of inbound RPCs.");

    public static readonly Histogram<double> ClientDuration =
        Meter.CreateHistogram<double>("rpc.client.duration", "ms", "Duration of outbound RPCs.");

    internal static void Record(Histogram<double> histogram, string service, string method, StatusCode code, long startTimestamp)
    {
        if (!histogram.Enabled) return;
        histogram.Record(
            Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds,
            new KeyValuePair<string, object?>("rpc.system", "grpc"),
            new KeyValuePair<string, object?>("rpc.service", service),
            new KeyValuePair<string, object?>("rpc.method", method),
            new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)code));
    }

    internal static Activity? Start(string service, string method, ActivityKind kind, ActivityContext parent = default)
    {
        if (!ActivitySource.HasListeners()) return null;
        var activity = ActivitySource.StartActivity($"{service}/{method}", kind, parent);
        if (activity is null) return null;
        activity.SetTag("rpc.system", "grpc");
        activity.SetTag("rpc.service", service);
        activity.SetTag("rpc.method", method);
        return activity;
    }

    internal static void Stop(Activity? activity, StatusCode code)
    {
        if (activity is null) return;
        activity.SetTag("rpc.grpc.status_code", (int)code);
        if (code != StatusCode.OK) activity.SetStatus(ActivityStatusCode.Error);
        activity.Dispose();
    }
}
