using System.Security.Cryptography;
using System.Text;
using Verification.Platform.Privacy;

namespace Verification.Platform.Tests;

/// <summary>The cipher NonAsn and Rentan keep NIKs at rest with: stored values stay readable, and open only for their own row and key.</summary>
public sealed class NikAtRestCipherTests
{
    private const string Nik = "3201234567890001";
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    [Theory]
    [InlineData("nonasn")]
    [InlineData("rentan")]
    public void TheLookupHashIsTheHmacUnderTheModulesDerivedKeySoStoredHashesStayValid(string module)
    {
        // The derivation every stored nik_hash was written with: changing it would orphan every row.
        var hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Key, 32, info: Encoding.ASCII.GetBytes($"verification/{module}/nik-hash/v1"));
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(hashKey, Encoding.ASCII.GetBytes(Nik)));

        Assert.Equal(expected, new NikAtRestCipher(Key, module, "row").Hash(Nik));
        Assert.NotEqual(new NikAtRestCipher(Key, "nonasn", "row").Hash(Nik), new NikAtRestCipher(Key, "rentan", "row").Hash(Nik));
    }

    [Fact]
    public void ASealedNikOpensOnlyForItsRowUnderItsModulesKeyAndTheErrorsNameNoNik()
    {
        var cipher = new NikAtRestCipher(Key, "nonasn", "employment");
        var sealedNik = cipher.Seal(Nik, "row-1");

        Assert.Equal(Nik, cipher.Open(sealedNik, "row-1"));
        Assert.NotEqual(sealedNik, cipher.Seal(Nik, "row-1")); // a fresh nonce each time
        Assert.DoesNotContain(Nik, Encoding.ASCII.GetString(Convert.FromBase64String(sealedNik)), StringComparison.Ordinal);

        var tampered = Convert.FromBase64String(sealedNik);
        tampered[^1] ^= 1;
        var failures = new[]
        {
            Assert.Throws<CryptographicException>(() => cipher.Open(sealedNik, "row-2")),
            Assert.Throws<CryptographicException>(() => new NikAtRestCipher(Key, "rentan", "employment").Open(sealedNik, "row-1")),
            Assert.Throws<CryptographicException>(() => new NikAtRestCipher([.. Key.Reverse()], "nonasn", "employment").Open(sealedNik, "row-1")),
            Assert.Throws<CryptographicException>(() => cipher.Open(Convert.ToBase64String(tampered), "row-1")),
            Assert.Throws<CryptographicException>(() => cipher.Open("not base64!", "row-1")),
        };
        Assert.All(failures, f => Assert.DoesNotContain(Nik, f.Message, StringComparison.Ordinal));
        Assert.Contains("employment row-2", failures[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AShortModuleKeyIsRefused() =>
        Assert.Throws<ArgumentException>(() => new NikAtRestCipher(new byte[16], "nonasn", "employment"));
}
