using System.Security.Cryptography;
using Verification.Audit.Verifier;
using Verification.Platform.Hosting;

namespace Verification.Audit.Features.Keys;

/// <summary>Monolithic mode's first start: a tree-head signing key (with its public key beside it, for auditors) and a NIK HMAC key.</summary>
public static class AuditKeys
{
    public const string DevelopmentSigningKeyFile = "tree-head-signing-key.pem";

    /// <summary>The public key auditors verify tree heads with, written beside the development private key.</summary>
    public const string DevelopmentPublicKeyFile = "tree-head-signing-key.pub.pem";

    public const string DevelopmentNikKeyFile = "nik-hmac.key";

    /// <summary>The signing key unless it exists, and its public key beside it, handed to <paramref name="files"/> to write.</summary>
    public static void EnsureDevelopmentSigningKey(string privateKeyPath, FirstStartFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var privatePem = files.ReadOrCreate(privateKeyPath, () =>
        {
            using var generated = TreeHeadSigner.Generate();
            return generated.ExportPrivateKeyPem();
        });
        var publicKeyPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(privateKeyPath))!, DevelopmentPublicKeyFile);
        files.ReadOrCreate(publicKeyPath, () =>
        {
            using var signer = TreeHeadSigner.FromPrivateKeyPem(privatePem);
            return signer.ExportPublicKeyPem() + "\n";
        }, secret: false);
    }

    public static void EnsureDevelopmentNikKey(string path, FirstStartFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        files.ReadOrCreate(path, () => NikHasher.NewKeyFileContent() + "\n");
    }

    /// <summary>The key id of a public key: lowercase hex SHA-256 of its SubjectPublicKeyInfo DER.</summary>
    public static string KeyId(string publicKeyPem)
    {
        ArgumentNullException.ThrowIfNull(publicKeyPem);
        if (!PemEncoding.TryFind(publicKeyPem, out var fields) || publicKeyPem[fields.Label] != "PUBLIC KEY")
        {
            throw new ArgumentException("Expected a PUBLIC KEY (SubjectPublicKeyInfo) PEM block.", nameof(publicKeyPem));
        }

        return Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(publicKeyPem[fields.Base64Data])));
    }
}
