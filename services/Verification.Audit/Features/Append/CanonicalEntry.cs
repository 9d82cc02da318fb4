using Verification.Audit.Data;

namespace Verification.Audit.Features.Append;

/// <summary>
/// The bytes of a log entry that its Merkle leaf hashes: leaf hash = SHA-256(0x00 ‖ canonical bytes).
/// </summary>
/// <remarks>
/// <para>Version 1 is one JSON object in RFC 8785 (JCS) canonical form (<see cref="CanonicalJson"/>): UTF-8, members
/// sorted by name, no whitespace. An auditor reproduces it from the entry's fields with any JCS implementation,
/// or parses it and compares the fields. Members, in their canonical order:</para>
/// <code>
/// actingMember   string  code of the member on whose behalf the event happened
/// appendedAt    string  when the log appended it: UTC, milliseconds, "2025-03-01T08:15:00.123Z"
/// correlationId  string  the caller's correlation id
/// eventId        string  the event's UUID, lowercase "8-4-4-4-12"
/// eventType      string  the event record's name, e.g. "KurBorrowerEnrolled"
/// format         string  "verification-audit/entry/v1"
/// keys           object  { batchId, loanReference, maskedNik, memberCode, nikHmac, participantNumber }: strings,
///                        "" when the event has none; nikHmac is lowercase hex HMAC-SHA-256 of the NIK
/// occurredAt     string  when the event happened, same format as appendedAt
/// payload        object  every other property of the event record (camelCase names, sourceModule included):
///                        strings, integers, arrays, instants as above, UUIDs lowercase, null; a NIK property
///                        holds "hmac-sha256:&lt;hex&gt;" instead of the NIK
/// traceId        string  W3C trace id of the call that caused the event, 32 lowercase hex digits, or ""
/// </code>
/// <para>The entry's index is not encoded: the inclusion proof fixes the position. Integers beyond ±(2^53 − 1) are
/// decimal strings; every string has NIK-shaped digit runs masked.</para>
/// </remarks>
public static class CanonicalEntry
{
    public const string Format = "verification-audit/entry/v1";

    /// <summary>The canonical bytes of the entry <paramref name="pending"/> becomes when appended at <paramref name="appendedAt"/>.</summary>
    public static byte[] Encode(PendingEvent pending, DateTimeOffset appendedAt)
    {
        ArgumentNullException.ThrowIfNull(pending);
        var keys = CanonicalJson.Object();
        keys["batchId"] = pending.BatchId ?? "";
        keys["loanReference"] = pending.LoanReference ?? "";
        keys["maskedNik"] = pending.MaskedNik ?? "";
        keys["memberCode"] = pending.MemberCode ?? "";
        keys["nikHmac"] = pending.NikHmac is null ? "" : Convert.ToHexStringLower(pending.NikHmac);
        keys["participantNumber"] = pending.ParticipantNumber ?? "";

        var entry = CanonicalJson.Object();
        entry["actingMember"] = pending.ActingMember;
        entry["appendedAt"] = CanonicalJson.Instant(appendedAt);
        entry["correlationId"] = pending.CorrelationId;
        entry["eventId"] = pending.EventId.ToString("D");
        entry["eventType"] = pending.EventType;
        entry["format"] = Format;
        entry["keys"] = keys;
        entry["occurredAt"] = CanonicalJson.Instant(pending.OccurredAt);
        entry["payload"] = new CanonicalJson.Raw(pending.Payload);
        entry["traceId"] = pending.TraceId;
        return CanonicalJson.Serialize(entry);
    }
}
