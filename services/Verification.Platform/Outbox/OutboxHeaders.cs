namespace Verification.Platform.Outbox;

/// <summary>Header names stored with an outbox row and set on the published message.</summary>
public static class OutboxHeaders
{
    /// <summary>W3C trace context of the request that produced the event.</summary>
    public const string TraceParent = "traceparent";

    public const string TraceState = "tracestate";

    public const string CorrelationId = "correlation-id";
}
