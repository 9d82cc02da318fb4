using Verification.Audit.Verifier;

namespace Verification.Audit.Features.Keys;

/// <summary>The log's tree-head signing key with its published identity.</summary>
public sealed class LogSigningKey : IDisposable
{
    private readonly TreeHeadSigner _signer;

    public LogSigningKey(TreeHeadSigner signer)
    {
        ArgumentNullException.ThrowIfNull(signer);
        _signer = signer;
        PublicKeyPem = signer.ExportPublicKeyPem();
        KeyId = AuditKeys.KeyId(PublicKeyPem);
    }

    /// <summary>SubjectPublicKeyInfo PEM: what auditors verify heads with.</summary>
    public string PublicKeyPem { get; }

    /// <summary>Lowercase hex SHA-256 of the public key's DER, carried by every head this key signs.</summary>
    public string KeyId { get; }

    public SignedTreeHead Sign(TreeHead head) => _signer.Sign(head);

    public void Dispose() => _signer.Dispose();
}
