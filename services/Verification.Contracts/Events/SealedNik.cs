namespace Verification.Contracts.Events;

/// <summary>
/// A NIK encrypted to one consumer's public key (today the audit log's), so it crosses outboxes and the broker unreadable
/// to everyone else. <paramref name="KeyId"/> names the recipient key (lowercase hex SHA-256 of its SubjectPublicKeyInfo);
/// <paramref name="Envelope"/> is base64 of version 1, the ephemeral P-256 point, nonce, tag and ciphertext, bound to the event id.
/// </summary>
public sealed record SealedNik(string KeyId, string Envelope);
