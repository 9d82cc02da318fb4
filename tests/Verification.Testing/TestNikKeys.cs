using System.Security.Cryptography;

namespace Verification.Testing;

/// <summary>
/// One NIK-sealing key pair per test process, in PEM files: hosts given <see cref="Settings"/> seal to it and the audit
/// module opens with it, so tests that make events themselves can seal them the same way.
/// </summary>
public static class TestNikKeys
{
    private static readonly Lazy<(string PrivateKeyPath, string PublicKeyPath)> Files = new(Create);

    public static string PrivateKeyPath => Files.Value.PrivateKeyPath;

    public static string PublicKeyPath => Files.Value.PublicKeyPath;

    /// <summary>Host settings (without the leading <c>--</c>) for both sides: publishers' public key, the audit module's private key.</summary>
    public static string[] Settings =>
        [$"Verification:Privacy:NikSealingKeyPath={PublicKeyPath}", $"Verification:Audit:NikSealingKeyPaths:0={PrivateKeyPath}"];

    private static (string, string) Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"verification-test-nik-keys-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: two small key files in the temp folder.
            }
        };
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var privateKeyPath = Path.Combine(directory, "nik-sealing-key.pem");
        var publicKeyPath = Path.Combine(directory, "nik-sealing-key.pub.pem");
        File.WriteAllText(privateKeyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(publicKeyPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
        return (privateKeyPath, publicKeyPath);
    }
}
