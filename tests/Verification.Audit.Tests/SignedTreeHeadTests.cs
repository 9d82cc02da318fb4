using System.Security.Cryptography;
using Verification.Audit.Verifier;
using static Verification.Audit.Tests.Fixtures;

namespace Verification.Audit.Tests;

public sealed class SignedTreeHeadTests : IDisposable
{
    // RFC 6962 reference root of the one-leaf tree.
    private static readonly byte[] RootOfOne = Hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");

    private static readonly DateTimeOffset November2023 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    // A throwaway test key made with `openssl ecparam -name prime256v1 -genkey`, in its SEC 1, PKCS#8 and SPKI forms.
    private const string OpensslSec1PrivateKey = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEILIQo+GMt3GRY1O89fgHhYU9EOtgmxHpufmVjsBJ3QwpoAoGCCqGSM49
        AwEHoUQDQgAE6u/56Hc+MWwXZowMAxoUH+zuqmuXZpdiz9Ptdv48HE5JqkteBVib
        7aL7x52VzZfxhMm29RlEa6RlCEw0WbouvQ==
        -----END EC PRIVATE KEY-----
        """;

    private const string OpensslPkcs8PrivateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgshCj4Yy3cZFjU7z1
        +AeFhT0Q62CbEem5+ZWOwEndDCmhRANCAATq7/nodz4xbBdmjAwDGhQf7O6qa5dm
        l2LP0+12/jwcTkmqS14FWJvtovvHnZXNl/GEybb1GURrpGUITDRZui69
        -----END PRIVATE KEY-----
        """;

    private const string OpensslPublicKey = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6u/56Hc+MWwXZowMAxoUH+zuqmuX
        Zpdiz9Ptdv48HE5JqkteBVib7aL7x52VzZfxhMm29RlEa6RlCEw0WbouvQ==
        -----END PUBLIC KEY-----
        """;

    // `openssl dgst -sha256 -sign` with the key above over the 74-byte encoding in TheEncodingIsTheDocumentedSeventyFourBytes.
    private const string OpensslSignatureOverHeadOfOne =
        "3046022100c910656ee13f4dc2ceb0a154d367544cc592361af8549a73772678a9643161cb02210096c6aa9406c27fc1dd3c797300a76a803eac5c9f51b0b0f1e279e2db296daa82";

    private const string P384PublicKey = """
        -----BEGIN PUBLIC KEY-----
        MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE33acwtVR35AvNsyv7iNTz9wiUkd7Q52k
        OYgqtQT+XdL/Dv1Lz3IXi8plev2IRTRQXit0EnTEa+q9ywP4vMbECZIL8/0ZdaZV
        Ne5MLdTkvz2yPHdJZX0YgR/JUD1N1vfr
        -----END PUBLIC KEY-----
        """;

    private const string RsaPublicKey = """
        -----BEGIN PUBLIC KEY-----
        MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDZpAvNdvIFtdMoLe0BrAwxgFP9
        U3l41+XJVl+6Y3tIjpaMUY/pfcfhKxMg7xjp2Oe9jh01MCL4+O0kOg6WyYM3WZ+p
        P5YY+HvG0a117VcwVNMEgo0QAeqLklgXQr4s9r+6Ppv/1UUEKwCMr+zo8fGKnYsg
        z2ueJXLSlG+IstrOwwIDAQAB
        -----END PUBLIC KEY-----
        """;

    private readonly TreeHeadSigner _signer = TreeHeadSigner.Generate();
    private readonly TreeHeadVerifier _verifier;

    public SignedTreeHeadTests() => _verifier = TreeHeadVerifier.FromPublicKeyPem(_signer.ExportPublicKeyPem());

    public void Dispose()
    {
        _signer.Dispose();
        _verifier.Dispose();
    }

    [Fact]
    public void TheEncodingIsTheDocumentedSeventyFourBytes()
    {
        var encoded = new TreeHead(1, November2023, RootOfOne).Encode();

        // Written out by hand from the layout in TreeHead's documentation.
        Assert.Equal(
            "766572696669636174696f6e2d61756469742f7374682f763100" // "verification-audit/sth/v1" 0x00
            + "0000000000000001" // tree size 1
            + "0000018bcfe56800" // 1,700,000,000,000 ms
            + "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            Hex(encoded));
        Assert.Equal(TreeHead.EncodedLength, encoded.Length);
    }

    [Fact]
    public void DecodingGivesBackTheSameHead()
    {
        var head = new TreeHead(123_456_789, November2023, RootOfOne);

        var decoded = TreeHead.Decode(head.Encode());

        Assert.Equal(head, decoded);
        Assert.Equal(123_456_789, decoded.TreeSize);
        Assert.Equal(November2023, decoded.Timestamp);
    }

    [Fact]
    public void DecodingRefusesAnythingButAVersionOneHead()
    {
        var encoded = new TreeHead(1, November2023, RootOfOne).Encode();

        Assert.Throws<FormatException>(() => TreeHead.Decode(encoded.AsSpan(..^1)));
        Assert.Throws<FormatException>(() => TreeHead.Decode([.. encoded, 0]));
        encoded[24] = (byte)'2'; // "v2"
        Assert.Throws<FormatException>(() => TreeHead.Decode(encoded));
    }

    [Fact]
    public void TimestampsAreKeptToTheMillisecondInUtc()
    {
        var head = new TreeHead(1, new DateTimeOffset(2025, 6, 1, 15, 0, 0, TimeSpan.FromHours(7)).AddTicks(9_999), RootOfOne);

        Assert.Equal(new DateTimeOffset(2025, 6, 1, 8, 0, 0, TimeSpan.Zero), head.Timestamp);
        Assert.Equal(TimeSpan.Zero, head.Timestamp.Offset);
    }

    [Fact]
    public void AHeadSignedWithTheLogKeyVerifies()
    {
        var signed = _signer.Sign(new TreeHead(8, November2023, RootOfOne));

        Assert.True(_verifier.Verify(signed));
    }

    [Fact]
    public void TheSignatureIsDerNotRawRAndS()
    {
        var signed = _signer.Sign(new TreeHead(8, November2023, RootOfOne));

        Assert.Equal(0x30, signed.Signature[0]); // DER SEQUENCE
        Assert.Equal(signed.Signature.Length - 2, signed.Signature[1]);

        // The same key's IEEE P1363 (r ‖ s) signature is not accepted: one format, no guessing.
        using var key = ECDsa.Create();
        key.ImportFromPem(_signer.ExportPrivateKeyPem());
        var p1363 = key.SignData(signed.Head.Encode(), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.False(_verifier.Verify(new SignedTreeHead(signed.Head, p1363)));
    }

    [Fact]
    public void AModifiedSignatureFails()
    {
        var signed = _signer.Sign(new TreeHead(8, November2023, RootOfOne));
        var signature = signed.Signature.ToArray();

        for (var i = 0; i < signature.Length; i++)
        {
            var modified = signature.ToArray();
            modified[i] ^= 0x01;
            Assert.False(_verifier.Verify(new SignedTreeHead(signed.Head, modified)), $"byte {i}");
        }

        Assert.False(_verifier.Verify(new SignedTreeHead(signed.Head, signature.AsSpan(..^1))));
        Assert.False(_verifier.Verify(new SignedTreeHead(signed.Head, [])));
    }

    [Fact]
    public void AHeadSignedWithADifferentKeyFails()
    {
        using var other = TreeHeadSigner.Generate();

        Assert.False(_verifier.Verify(other.Sign(new TreeHead(8, November2023, RootOfOne))));
    }

    [Fact]
    public void ChangingTheSizeTimestampOrRootUnderASignatureFails()
    {
        var signed = _signer.Sign(new TreeHead(8, November2023, RootOfOne));
        var otherRoot = RootOfOne.ToArray();
        otherRoot[31] ^= 0x80;

        Assert.False(_verifier.Verify(new SignedTreeHead(new TreeHead(9, November2023, RootOfOne), signed.Signature)));
        Assert.False(_verifier.Verify(new SignedTreeHead(new TreeHead(7, November2023, RootOfOne), signed.Signature)));
        Assert.False(_verifier.Verify(new SignedTreeHead(new TreeHead(8, November2023.AddMilliseconds(1), RootOfOne), signed.Signature)));
        Assert.False(_verifier.Verify(new SignedTreeHead(new TreeHead(8, November2023, otherRoot), signed.Signature)));
    }

    [Fact]
    public void ASignatureMadeByOpensslVerifies()
    {
        using var verifier = TreeHeadVerifier.FromPublicKeyPem(OpensslPublicKey);
        var head = new TreeHead(1, November2023, RootOfOne);

        Assert.True(verifier.Verify(new SignedTreeHead(head, Hex(OpensslSignatureOverHeadOfOne))));
        Assert.False(verifier.Verify(new SignedTreeHead(new TreeHead(2, November2023, RootOfOne), Hex(OpensslSignatureOverHeadOfOne))));
    }

    [Theory]
    [InlineData(OpensslSec1PrivateKey)]
    [InlineData(OpensslPkcs8PrivateKey)]
    public void AnOpensslPrivateKeyInEitherPemFormSignsHeadsItsPublicKeyVerifies(string privateKeyPem)
    {
        using var signer = TreeHeadSigner.FromPrivateKeyPem(privateKeyPem);
        using var verifier = TreeHeadVerifier.FromPublicKeyPem(OpensslPublicKey);

        Assert.True(verifier.Verify(signer.Sign(new TreeHead(42, November2023, RootOfOne))));
        Assert.Equal(OpensslPublicKey.ReplaceLineEndings("\n"), signer.ExportPublicKeyPem().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(P384PublicKey)]
    [InlineData(RsaPublicKey)]
    [InlineData(OpensslPkcs8PrivateKey)] // a private key is not a public key, however convenient
    [InlineData("not a key")]
    public void OnlyAP256PublicKeyIsAcceptedForVerification(string pem) =>
        Assert.Throws<ArgumentException>(() => TreeHeadVerifier.FromPublicKeyPem(pem));

    [Theory]
    [InlineData(OpensslPublicKey)]
    [InlineData("not a key")]
    public void OnlyAPrivateKeyIsAcceptedForSigning(string pem) =>
        Assert.Throws<ArgumentException>(() => TreeHeadSigner.FromPrivateKeyPem(pem));

    [Fact]
    public void AP384PrivateKeyIsRefusedForSigning()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<ArgumentException>(() => TreeHeadSigner.FromPrivateKeyPem(p384.ExportPkcs8PrivateKeyPem()));
    }
}
