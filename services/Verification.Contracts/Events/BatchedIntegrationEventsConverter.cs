using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Verification.Contracts.Events;

/// <summary>
/// Reads a list of <see cref="BatchedIntegrationEvent"/> as one JSON document whose parts the items' payloads are, instead
/// of a document of its own per payload (a hundred small copies and parses per message, on every consumer); writes the
/// same JSON the default serializer would. Property names are read in either camelCase or PascalCase.
/// </summary>
public sealed class BatchedIntegrationEventsConverter : JsonConverter<BatchedIntegrationEvent[]>
{
    public override BatchedIntegrationEvent[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("A list of events is a JSON array.");
        }

        // Not disposed on purpose: the payloads handed out are elements of this document (ParseValue does not pool).
        var list = JsonElement.ParseValue(ref reader);
        var events = new BatchedIntegrationEvent[list.GetArrayLength()];
        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            events[i++] = item.ValueKind == JsonValueKind.Null ? null! : ReadItem(item);
        }

        return events;
    }

    private static BatchedIntegrationEvent ReadItem(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("An event of a list is a JSON object.");
        }

        var eventId = Guid.Empty;
        string? messageType = null;
        JsonElement payload = default;
        Dictionary<string, string>? headers = null;
        foreach (var property in item.EnumerateObject())
        {
            if (property.NameEquals("eventId"u8) || property.NameEquals("EventId"u8))
            {
                eventId = property.Value.ValueKind == JsonValueKind.String && property.Value.TryGetGuid(out var id)
                    ? id
                    : throw new JsonException("An event's id is a GUID string.");
            }
            else if (property.NameEquals("messageType"u8) || property.NameEquals("MessageType"u8))
            {
                messageType = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw new JsonException("An event's message type is a string."),
                };
            }
            else if (property.NameEquals("payload"u8) || property.NameEquals("Payload"u8))
            {
                payload = property.Value;
            }
            else if (property.NameEquals("headers"u8) || property.NameEquals("Headers"u8))
            {
                headers = ReadHeaders(property.Value);
            }
        }

        return new BatchedIntegrationEvent(eventId, messageType!, payload, headers!);
    }

    private static Dictionary<string, string>? ReadHeaders(JsonElement headers)
    {
        if (headers.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (headers.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("An event's headers are a JSON object of strings.");
        }

        var read = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var header in headers.EnumerateObject())
        {
            read[header.Name] = header.Value.ValueKind == JsonValueKind.String
                ? header.Value.GetString()!
                : throw new JsonException("An event's headers are a JSON object of strings.");
        }

        return read;
    }

    public override void Write(Utf8JsonWriter writer, BatchedIntegrationEvent[] value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        var names = NamesFor(options);
        writer.WriteStartArray();
        foreach (var item in value)
        {
            if (item is null)
            {
                writer.WriteNullValue();
                continue;
            }

            writer.WriteStartObject();
            writer.WriteString(names.EventId, item.EventId);
            writer.WriteString(names.MessageType, item.MessageType);
            writer.WritePropertyName(names.Payload);
            if (item.Payload.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteNullValue();
            }
            else
            {
                // The payload's own bytes: a parsed element is valid JSON, so no walk over its tokens and no second validation.
                writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(item.Payload), skipInputValidation: true);
            }

            writer.WritePropertyName(names.Headers);
            if (item.Headers is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStartObject();
                foreach (var (name, text) in item.Headers)
                {
                    writer.WriteString(name, text);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private sealed record PropertyNames(JsonEncodedText EventId, JsonEncodedText MessageType, JsonEncodedText Payload, JsonEncodedText Headers)
    {
        public static PropertyNames Of(JsonNamingPolicy? policy) => new(Name("EventId", policy), Name("MessageType", policy), Name("Payload", policy), Name("Headers", policy));

        private static JsonEncodedText Name(string name, JsonNamingPolicy? policy) => JsonEncodedText.Encode(policy?.ConvertName(name) ?? name);
    }

    private static readonly PropertyNames CamelCase = PropertyNames.Of(JsonNamingPolicy.CamelCase);

    // The names as the options' policy writes them (camelCase for the web defaults and MassTransit), as declared without one.
    private static PropertyNames NamesFor(JsonSerializerOptions options) =>
        options.PropertyNamingPolicy == JsonNamingPolicy.CamelCase ? CamelCase : PropertyNames.Of(options.PropertyNamingPolicy);
}
