using System.Security.Cryptography;

namespace Verification.Audit.Verifier;

/// <summary>
/// Signs tree heads on the server: ECDSA over NIST P-256 with SHA-256, signature in DER (RFC 3279
/// Ecdsa-Sig-Value), the format <c>openssl dgst -sha256 -sign</c> produces and
/// <c>openssl dgst -sha256 -verify pub.pem -signature sig.der head.bin</c> checks, so auditors can
/// verify without our code.
/// </summary>
public sealed class TreeHeadSigner : IDisposable
{
    private readonly ECDsa _key;

    private TreeHeadSigner(ECDsa key) => _key = key;

    /// <summary>A signer from a P-256 private key in PEM: PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY").</summary>
    /// <exception cref="ArgumentException">No such key in the PEM, or a key on another curve.</exception>
    public static TreeHeadSigner FromPrivateKeyPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var key = ECDsa.Create();
        try
        {
            if (!PemEncoding.TryFind(pem, out var fields))
            {
                throw new ArgumentException("No PEM block found.", nameof(pem));
            }

            var label = pem[fields.Label];
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            switch (label)
            {
                case "PRIVATE KEY":
                    key.ImportPkcs8PrivateKey(der, out _);
                    break;
                case "EC PRIVATE KEY":
                    key.ImportECPrivateKey(der, out _);
                    break;
                default:
                    throw new ArgumentException($"Expected a PRIVATE KEY or EC PRIVATE KEY PEM block, found {label}.", nameof(pem));
            }

            P256.Require(key, nameof(pem));
            return new TreeHeadSigner(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException("The PEM does not hold an ECDSA private key.", nameof(pem), e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>A signer with a fresh P-256 key (tests and first start; persist it with <see cref="ExportPrivateKeyPem"/>).</summary>
    public static TreeHeadSigner Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The public key as SubjectPublicKeyInfo PEM ("PUBLIC KEY"), what auditors are given.</summary>
    public string ExportPublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>The private key as PKCS#8 PEM ("PRIVATE KEY"). Secret.</summary>
    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    public SignedTreeHead Sign(TreeHead head)
    {
        ArgumentNullException.ThrowIfNull(head);
        return new SignedTreeHead(head, _key.SignData(head.Encode(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>Checks tree head signatures against the log's published P-256 public key; see <see cref="TreeHeadSigner"/> for the format.</summary>
public sealed class TreeHeadVerifier : IDisposable
{
    private readonly ECDsa _key;

    private TreeHeadVerifier(ECDsa key) => _key = key;

    /// <summary>A verifier from a SubjectPublicKeyInfo PEM block ("PUBLIC KEY") holding a P-256 key.</summary>
    /// <exception cref="ArgumentException">No PUBLIC KEY block, not an EC key, or a key on another curve.</exception>
    public static TreeHeadVerifier FromPublicKeyPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] != "PUBLIC KEY")
        {
            throw new ArgumentException("Expected a PUBLIC KEY (SubjectPublicKeyInfo) PEM block.", nameof(pem));
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(pem[fields.Base64Data]), out _);
            P256.Require(key, nameof(pem));
            return new TreeHeadVerifier(key);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException("The PEM does not hold an ECDSA public key.", nameof(pem), e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>True when the signature is a valid DER ECDSA P-256 / SHA-256 signature over the head's canonical encoding.</summary>
    public bool Verify(SignedTreeHead signedHead)
    {
        ArgumentNullException.ThrowIfNull(signedHead);
        try
        {
            return _key.VerifyData(signedHead.Head.Encode(), signedHead.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false; // malformed DER is a bad signature, not a crash
        }
    }

    public void Dispose() => _key.Dispose();
}

internal static class P256
{
    private const string Oid = "1.2.840.10045.3.1.7";

    public static void Require(ECDsa key, string parameterName)
    {
        var curve = key.ExportParameters(false).Curve;
        if (!curve.IsNamed || (curve.Oid.Value != Oid && curve.Oid.FriendlyName is not ("nistP256" or "ECDSA_P256")))
        {
            throw new ArgumentException("Tree heads are signed with NIST P-256 (secp256r1) keys only.", parameterName);
        }
    }
}
