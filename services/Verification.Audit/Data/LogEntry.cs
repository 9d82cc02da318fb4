namespace Verification.Audit.Data;

/// <summary>
/// One entry of the log: leaf number <see cref="Index"/> of the Merkle tree. Every column but the index and the
/// leaf hash is also inside <see cref="CanonicalBytes"/>, the bytes the leaf hash covers; the columns are there to search by.
/// </summary>
public sealed class LogEntry
{
    public long Index { get; set; }

    public Guid EventId { get; set; }

    /// <summary>The event record's name, e.g. <c>KurBorrowerEnrolled</c>.</summary>
    public string EventType { get; set; } = "";

    public DateTimeOffset OccurredAt { get; set; }

    public DateTimeOffset AppendedAt { get; set; }

    public string ActingMember { get; set; } = "";

    public string CorrelationId { get; set; } = "";

    /// <summary>W3C trace id (32 lowercase hex digits) of the call that caused the event; empty if unknown.</summary>
    public string TraceId { get; set; } = "";

    /// <summary>HMAC-SHA-256 of the NIK under the log's key; the raw NIK is never stored.</summary>
    public byte[]? NikHmac { get; set; }

    public string? MaskedNik { get; set; }

    public string? ParticipantNumber { get; set; }

    public string? MemberCode { get; set; }

    public string? LoanReference { get; set; }

    public string? BatchId { get; set; }

    public byte[] CanonicalBytes { get; set; } = [];

    public byte[] LeafHash { get; set; } = [];
}

/// <summary>An event received from the bus and not yet appended: everything the entry needs except its index and append time.</summary>
public sealed class PendingEvent
{
    public long PendingId { get; set; }

    public Guid EventId { get; set; }

    public string EventType { get; set; } = "";

    public DateTimeOffset OccurredAt { get; set; }

    public string ActingMember { get; set; } = "";

    public string CorrelationId { get; set; } = "";

    public string TraceId { get; set; } = "";

    public byte[]? NikHmac { get; set; }

    public string? MaskedNik { get; set; }

    public string? ParticipantNumber { get; set; }

    public string? MemberCode { get; set; }

    public string? LoanReference { get; set; }

    public string? BatchId { get; set; }

    /// <summary>Canonical JSON of the event's own fields (the envelope excluded), NIK already replaced by its keyed hash.</summary>
    public byte[] Payload { get; set; } = [];

    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>The hash of a complete subtree of level 1 or more (leaf hashes are <see cref="LogEntry.LeafHash"/>).</summary>
public sealed class StoredSubtreeHash
{
    public int Level { get; set; }

    public long NodeIndex { get; set; }

    public byte[] Hash { get; set; } = [];
}

/// <summary>A signed tree head as issued.</summary>
public sealed class StoredTreeHead
{
    public long TreeSize { get; set; }

    public byte[] RootHash { get; set; } = [];

    public long TimestampMilliseconds { get; set; }

    public byte[] Signature { get; set; } = [];

    public string KeyId { get; set; } = "";
}

/// <summary>A witness's cosignature of the signed head of <see cref="TreeSize"/> entries.</summary>
public sealed class StoredCosignature
{
    public long TreeSize { get; set; }

    public string WitnessKeyId { get; set; } = "";

    public string PublicKey { get; set; } = "";

    public byte[] Signature { get; set; } = [];

    public string MemberCode { get; set; } = "";

    public DateTimeOffset AddedAt { get; set; }
}
