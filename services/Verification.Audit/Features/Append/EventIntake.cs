using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Verification.Audit.Data;
using Verification.Audit.Features.Keys;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Platform.Privacy;
using Verification.Platform.Telemetry;

namespace Verification.Audit.Features.Append;

/// <summary>
/// Turns any bus event into a <see cref="PendingEvent"/>: envelope, search keys, and the payload as canonical JSON.
/// Works by reflection over the event record, so a new event type is logged without a change here.
/// </summary>
/// <remarks>
/// Personal data: a <see cref="SealedNik"/> is opened with the audit key and stored only as HMAC-SHA-256 (payload field
/// <c>nik</c>, <c>"hmac-sha256:&lt;hex&gt;"</c>, search column nik_hmac) plus its masked form; an envelope that does not open
/// throws <see cref="SealedNikException"/> (the message goes to the error queue, never logged); every other string anywhere in
/// the event is passed through the NIK redaction, so a NIK put where it does not belong is masked, never stored.
/// Search keys come from properties by name: <c>ParticipantNumber</c>, <c>LoanReference</c>, <c>BatchId</c>, and for the
/// member concerned <c>MemberCode</c>, else <c>BankCode</c>, else <c>EmployerNumber</c>, else <c>ChannelReference</c>
/// (the bank or region code that brought a coverage); for an <see cref="AccessDenied"/>, the owner of what was asked for.
/// </remarks>
public sealed class EventIntake(NikHasher nikHasher, NikOpener nikOpener)
{
    /// <summary>Prefix of a keyed NIK hash in the payload, so it is never mistaken for digits.</summary>
    public const string NikHashPrefix = "hmac-sha256:";

    /// <summary>The payload field that holds the keyed hash of the event's NIK.</summary>
    public const string NikPayloadField = "nik";

    // The envelope is stored (and encoded) at the top level of the entry, not again in the payload.
    private static readonly HashSet<string> EnvelopeProperties = new(StringComparer.Ordinal)
    {
        nameof(IIntegrationEvent.EventId),
        nameof(IIntegrationEvent.OccurredAt),
        nameof(IIntegrationEvent.CorrelationId),
        nameof(IIntegrationEvent.ActingMember),
    };

    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

    private static readonly ConcurrentDictionary<(Type, string), PropertyInfo?> KeyProperties = new();

    /// <summary>Everything the log stores about the event, minus its index and append time; no raw NIK survives.</summary>
    /// <param name="integrationEvent">The event as delivered.</param>
    /// <param name="traceId">W3C trace id of the call that caused it (32 hex digits), or empty.</param>
    /// <param name="receivedAt">When the log received it.</param>
    public PendingEvent Receive(IIntegrationEvent integrationEvent, string traceId, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(integrationEvent);
        var type = integrationEvent.GetType();
        var payload = CanonicalJson.Object();
        string? nik = null;
        foreach (var property in Properties.GetOrAdd(type, PayloadProperties))
        {
            var value = property.GetValue(integrationEvent);
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (property.PropertyType == typeof(SealedNik))
            {
                // Opened only to be hashed: the log keeps the keyed hash under "nik", never the NIK or its envelope.
                nik = value is SealedNik sealedNik ? nikOpener.Open(sealedNik, integrationEvent.EventId) : null;
                payload[NikPayloadField] = nik is null ? "" : NikHashPrefix + Convert.ToHexStringLower(nikHasher.Hash(nik));
                continue;
            }

            payload[name] = Canonical(value);
        }

        return new PendingEvent
        {
            EventId = integrationEvent.EventId,
            EventType = type.Name,
            OccurredAt = CanonicalJson.TruncateToMilliseconds(integrationEvent.OccurredAt),
            ActingMember = Redact(integrationEvent.ActingMember),
            CorrelationId = Redact(integrationEvent.CorrelationId),
            TraceId = IsTraceId(traceId) ? traceId : "",
            NikHmac = nik is null ? null : nikHasher.Hash(nik),
            MaskedNik = nik is null ? null : Nik.MaskInput(nik),
            ParticipantNumber = Key(integrationEvent, "ParticipantNumber"),
            MemberCode = integrationEvent is AccessDenied
                // A denial concerns the owner of what was asked for; the denied member is its acting member.
                ? Key(integrationEvent, "EmployerNumber") ?? Key(integrationEvent, "BankCode") ?? Key(integrationEvent, "MemberCode")
                : Key(integrationEvent, "MemberCode") ?? Key(integrationEvent, "BankCode") ?? Key(integrationEvent, "EmployerNumber") ?? Key(integrationEvent, "ChannelReference"),
            LoanReference = Key(integrationEvent, "LoanReference"),
            BatchId = Key(integrationEvent, "BatchId"),
            Payload = CanonicalJson.Serialize(payload),
            ReceivedAt = CanonicalJson.TruncateToMilliseconds(receivedAt),
        };
    }

    /// <summary>True for a W3C trace id: 32 lowercase hex digits, not all zero.</summary>
    public static bool IsTraceId(string? text) =>
        text is { Length: 32 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f') && text.Any(c => c != '0');

    /// <summary>The trace id inside a W3C <c>traceparent</c> header (<c>00-&lt;trace id&gt;-&lt;span id&gt;-&lt;flags&gt;</c>), or empty.</summary>
    public static string TraceIdOf(string? traceParent)
    {
        if (string.IsNullOrEmpty(traceParent))
        {
            return "";
        }

        var parts = traceParent.Split('-');
        return parts.Length >= 4 && parts[0].Length == 2 && IsTraceId(parts[1]) ? parts[1] : "";
    }

    private static PropertyInfo[] PayloadProperties(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && !EnvelopeProperties.Contains(p.Name))];

    private static string? Key(IIntegrationEvent integrationEvent, string propertyName)
    {
        var property = KeyProperties.GetOrAdd(
            (integrationEvent.GetType(), propertyName),
            static key => key.Item1.GetProperty(key.Item2, BindingFlags.Public | BindingFlags.Instance));
        return property?.GetValue(integrationEvent) is string { Length: > 0 } value ? Redact(value) : null;
    }

    private static string Redact(string? text) => text is null ? "" : NikRedaction.Mask(text);

    // The contracts hold primitives, Guid, DateTimeOffset, strings, longs and arrays; anything else is written by its properties.
    private static object? Canonical(object? value) => value switch
    {
        null => null,
        string text => Redact(text),
        bool or long or int or short or byte or sbyte or ushort or uint => value,
        ulong big => big.ToString(CultureInfo.InvariantCulture),
        Guid id => id.ToString("D"),
        DateTimeOffset instant => CanonicalJson.Instant(instant),
        DateTime time => CanonicalJson.Instant(new DateTimeOffset(DateTime.SpecifyKind(time, time.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : time.Kind))),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Enum member => member.ToString(),
        decimal or double or float => Redact(Convert.ToString(value, CultureInfo.InvariantCulture)),
        IEnumerable items => items.Cast<object?>().Select(Canonical).ToList(),
        _ => ObjectOf(value),
    };

    private static SortedDictionary<string, object?> ObjectOf(object value)
    {
        var members = CanonicalJson.Object();
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0))
        {
            members[JsonNamingPolicy.CamelCase.ConvertName(property.Name)] = Canonical(property.GetValue(value));
        }

        return members;
    }
}
