using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Verification.Audit.Verifier;

/// <summary>
/// What a log server states about an entry beside its canonical bytes (everything but the index, which the
/// inclusion proof fixes). Only the canonical bytes are hashed into the tree, so these fields are worth nothing
/// until <see cref="EntryFieldsCheck"/> has found them to say what the bytes say.
/// </summary>
public sealed record EntryFields
{
    public required string EventId { get; init; }

    public required string EventType { get; init; }

    public required DateTimeOffset OccurTime { get; init; }

    public required DateTimeOffset AppendTime { get; init; }

    public required string ActingMemberCode { get; init; }

    public required string CorrelationId { get; init; }

    public required string TraceId { get; init; }

    public string MaskedNik { get; init; } = "";

    public string ParticipantNumber { get; init; } = "";

    public string MemberCode { get; init; } = "";

    public string LoanReference { get; init; } = "";

    public string BatchId { get; init; } = "";
}

/// <summary>One stated field the canonical bytes contradict: its proto field path, the stated value and the encoded one.</summary>
public sealed record EntryFieldMismatch(string Field, string Stated, string Encoded)
{
    public override string ToString() => $"{Field}: stated '{Stated}', canonical bytes say '{Encoded}'";
}

/// <summary>
/// Checks an entry's stated fields against its canonical bytes (version 1 of the encoding documented in
/// services/Verification.Audit/README.md: one RFC 8785 JCS object with format "verification-audit/entry/v1").
/// A server that altered a searchable field, or bytes that are not in canonical form, are caught here; bytes
/// altered consistently with the fields are caught by the inclusion proof.
/// </summary>
public static class EntryFieldsCheck
{
    /// <summary>The value of the <c>format</c> member of a version 1 entry.</summary>
    public const string Format = "verification-audit/entry/v1";

    /// <summary>The pseudo-field a mismatch names when the bytes themselves are not a canonical version 1 entry.</summary>
    public const string CanonicalBytesField = "canonical_bytes";

    private const long MaxSafeInteger = (1L << 53) - 1;

    /// <summary>Every stated field the canonical bytes contradict; empty when they agree.</summary>
    public static IReadOnlyList<EntryFieldMismatch> Compare(EntryFields stated, ReadOnlySpan<byte> canonicalBytes)
    {
        ArgumentNullException.ThrowIfNull(stated);
        if (!System.Text.Unicode.Utf8.IsValid(canonicalBytes))
        {
            return [Broken("not UTF-8")];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(canonicalBytes.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return [Broken("not JSON")];
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return [Broken("not a JSON object")];
            }

            if (Canonical(root) is not { } canonical || !canonical.AsSpan().SequenceEqual(canonicalBytes))
            {
                return [Broken("not in RFC 8785 canonical form")];
            }

            if (Text(root, "format") != Format)
            {
                return [Broken($"format is '{Text(root, "format")}', not '{Format}'")];
            }

            var mismatches = new List<EntryFieldMismatch>();
            var keys = root.TryGetProperty("keys", out var k) && k.ValueKind == JsonValueKind.Object ? k : default;
            Expect(mismatches, "event_id", stated.EventId, Text(root, "eventId"));
            Expect(mismatches, "event_type", stated.EventType, Text(root, "eventType"));
            Expect(mismatches, "occur_time", Instant(stated.OccurTime), Text(root, "occurredAt"));
            Expect(mismatches, "append_time", Instant(stated.AppendTime), Text(root, "appendedAt"));
            Expect(mismatches, "acting_member_code", stated.ActingMemberCode, Text(root, "actingMember"));
            Expect(mismatches, "correlation_id", stated.CorrelationId, Text(root, "correlationId"));
            Expect(mismatches, "trace_id", stated.TraceId, Text(root, "traceId"));
            Expect(mismatches, "keys.masked_nik", stated.MaskedNik, Text(keys, "maskedNik"));
            Expect(mismatches, "keys.participant_number", stated.ParticipantNumber, Text(keys, "participantNumber"));
            Expect(mismatches, "keys.member_code", stated.MemberCode, Text(keys, "memberCode"));
            Expect(mismatches, "keys.loan_reference", stated.LoanReference, Text(keys, "loanReference"));
            Expect(mismatches, "keys.batch_id", stated.BatchId, Text(keys, "batchId"));
            return mismatches;
        }
    }

    /// <summary>
    /// The same comparison in one forward pass over the bytes, for checking millions of entries (a whole-log audit): it
    /// reads the members the fields state and does not re-serialise the object, so it does not judge canonical form,
    /// which the leaf hash already commits to. A byte string that is not a JSON object is reported as broken.
    /// </summary>
    public static IReadOnlyList<EntryFieldMismatch> QuickCompare(EntryFields stated, ReadOnlySpan<byte> canonicalBytes)
    {
        ArgumentNullException.ThrowIfNull(stated);
        var top = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(canonicalBytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return [Broken("not a JSON object")];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == "keys" && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String) keys[key] = reader.GetString()!;
                        else reader.Skip();
                    }
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    top[name] = reader.GetString()!;
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return [Broken("not JSON")];
        }

        if (top.GetValueOrDefault("format") != Format) return [Broken($"format is '{top.GetValueOrDefault("format")}', not '{Format}'")];
        var mismatches = new List<EntryFieldMismatch>();
        Expect(mismatches, "event_id", stated.EventId, top.GetValueOrDefault("eventId"));
        Expect(mismatches, "event_type", stated.EventType, top.GetValueOrDefault("eventType"));
        Expect(mismatches, "occur_time", Instant(stated.OccurTime), top.GetValueOrDefault("occurredAt"));
        Expect(mismatches, "append_time", Instant(stated.AppendTime), top.GetValueOrDefault("appendedAt"));
        Expect(mismatches, "acting_member_code", stated.ActingMemberCode, top.GetValueOrDefault("actingMember"));
        Expect(mismatches, "correlation_id", stated.CorrelationId, top.GetValueOrDefault("correlationId"));
        Expect(mismatches, "trace_id", stated.TraceId, top.GetValueOrDefault("traceId"));
        Expect(mismatches, "keys.masked_nik", stated.MaskedNik, keys.GetValueOrDefault("maskedNik"));
        Expect(mismatches, "keys.participant_number", stated.ParticipantNumber, keys.GetValueOrDefault("participantNumber"));
        Expect(mismatches, "keys.member_code", stated.MemberCode, keys.GetValueOrDefault("memberCode"));
        Expect(mismatches, "keys.loan_reference", stated.LoanReference, keys.GetValueOrDefault("loanReference"));
        Expect(mismatches, "keys.batch_id", stated.BatchId, keys.GetValueOrDefault("batchId"));
        return mismatches;
    }

    /// <summary>An instant as the encoding writes it: UTC, whole milliseconds (finer precision truncated), e.g. <c>2025-03-01T08:15:00.123Z</c>.</summary>
    public static string Instant(DateTimeOffset instant) =>
        DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds()).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The RFC 8785 serialisation of a parsed value (integers only, as the encoding has), or null when it has no canonical form.</summary>
    public static byte[]? Canonical(JsonElement element)
    {
        var builder = new StringBuilder();
        return Write(builder, element) ? Encoding.UTF8.GetBytes(builder.ToString()) : null;
    }

    private static EntryFieldMismatch Broken(string why) => new(CanonicalBytesField, "a version 1 entry in canonical form", why);

    private static void Expect(List<EntryFieldMismatch> mismatches, string field, string stated, string? encoded)
    {
        if (!string.Equals(stated, encoded, StringComparison.Ordinal))
        {
            mismatches.Add(new EntryFieldMismatch(field, stated, encoded ?? "(missing)"));
        }
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Write(StringBuilder builder, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = element.EnumerateObject().ToList();
                var names = members.Select(m => m.Name).ToList();
                var sorted = names.Order(StringComparer.Ordinal).ToList();
                if (sorted.Distinct(StringComparer.Ordinal).Count() != sorted.Count)
                {
                    return false; // JCS has no duplicate member names
                }

                builder.Append('{');
                for (var i = 0; i < sorted.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    Rfc8785.AppendString(builder, sorted[i]);
                    builder.Append(':');
                    if (!Write(builder, members[names.IndexOf(sorted[i])].Value))
                    {
                        return false;
                    }
                }

                builder.Append('}');
                return true;
            case JsonValueKind.Array:
                builder.Append('[');
                var first = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!first)
                    {
                        builder.Append(',');
                    }

                    first = false;
                    if (!Write(builder, item))
                    {
                        return false;
                    }
                }

                builder.Append(']');
                return true;
            case JsonValueKind.String:
                string text;
                try
                {
                    text = element.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    // A lone surrogate: JCS writes it as the \udxxx escape it must already be.
                    builder.Append(element.GetRawText());
                    return true;
                }

                Rfc8785.AppendString(builder, text);
                return true;
            case JsonValueKind.Number:
                if (!element.TryGetInt64(out var number) || number is > MaxSafeInteger or < -MaxSafeInteger)
                {
                    return false;
                }

                builder.Append(number.ToString(CultureInfo.InvariantCulture));
                return true;
            case JsonValueKind.True:
                builder.Append("true");
                return true;
            case JsonValueKind.False:
                builder.Append("false");
                return true;
            case JsonValueKind.Null:
                builder.Append("null");
                return true;
            default:
                return false;
        }
    }
}
