using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Verification.Contracts.Events;
using Verification.Platform.Hosting;

namespace Verification.Platform.Privacy;

/// <summary>
/// Seals NIKs in events to the audit log's public key: the only reader of a NIK on the bus. One ephemeral key serves the
/// seals of a short while (<see cref="EphemeralLifetime"/>, at most <see cref="SealsPerEphemeralKey"/>), each with its own
/// random nonce: ECDH per NIK cost about 0.3 ms of CPU, two per KUR enrolment, and the key it spares lives only in this
/// process's memory, which holds the NIKs in the clear anyway.
/// </summary>
public sealed class NikSealer(ECDiffieHellman recipient, TimeProvider? clock = null) : IDisposable
{
    public static readonly TimeSpan EphemeralLifetime = TimeSpan.FromMinutes(1);

    // Random 96-bit nonces under one AES-GCM key: 2^20 seals keep a nonce collision below 2^-57.
    public const int SealsPerEphemeralKey = 1 << 20;

    private readonly TimeProvider time = clock ?? TimeProvider.System;
    private readonly Lock rotation = new();
    private Ephemeral? current;

    public string KeyId { get; } = NikSeal.KeyId(recipient);

    public SealedNik Seal(string nik, Guid eventId) => NikSeal.Seal(nik, eventId, Current().Agreement, KeyId);

    private Ephemeral Current()
    {
        var now = time.GetUtcNow();
        if (Volatile.Read(ref current) is { } serving && serving.Serves(now)) return serving;
        lock (rotation)
        {
            if (current is { } rotated && rotated.Serves(now)) return rotated;
            // The old key is not zeroed: a seal on another thread may still be using it; it is garbage once that seal ends.
            var fresh = new Ephemeral(NikSeal.Agree(recipient), now + EphemeralLifetime);
            fresh.Serves(now);
            Volatile.Write(ref current, fresh);
            return fresh;
        }
    }

    public void Dispose() => recipient.Dispose();

    private sealed class Ephemeral(EphemeralAgreement agreement, DateTimeOffset expires)
    {
        private int seals;

        public EphemeralAgreement Agreement { get; } = agreement;

        public bool Serves(DateTimeOffset now) => now < expires && Interlocked.Increment(ref seals) <= SealsPerEphemeralKey;
    }
}

/// <summary>
/// The audit log's private keys by key id: the current one and those kept to open events sealed before a rotation. The AES key
/// of each recent ephemeral point is kept, so the many envelopes one sealer's ephemeral key made cost one ECDH here too.
/// </summary>
public sealed class NikOpener(IReadOnlyList<ECDiffieHellman> keys) : IDisposable
{
    // A sealer rotates its ephemeral key every minute: a few hundred covers every publisher replica for a while.
    private const int RecentPoints = 512;

    private readonly Dictionary<string, ECDiffieHellman> byId = keys.ToDictionary(NikSeal.KeyId, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> recentKeys = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> KeyIds => byId.Keys;

    /// <exception cref="SealedNikException">No key with the envelope's id, or an envelope that does not open.</exception>
    public string Open(SealedNik sealedNik, Guid eventId)
    {
        ArgumentNullException.ThrowIfNull(sealedNik);
        if (!byId.TryGetValue(sealedNik.KeyId, out var key)) throw new SealedNikException($"no private key with id {Abbreviated(sealedNik.KeyId)}");
        return NikSeal.Open(sealedNik, eventId, point =>
        {
            var name = sealedNik.KeyId + ":" + Convert.ToHexString(point);
            if (recentKeys.TryGetValue(name, out var known)) return known;
            var derived = NikSeal.KeyFor(key, point);
            if (recentKeys.Count >= RecentPoints) recentKeys.Clear();
            recentKeys[name] = derived;
            return derived;
        });
    }

    public void Dispose()
    {
        foreach (var key in byId.Values) key.Dispose();
        foreach (var derived in recentKeys.Values) CryptographicOperations.ZeroMemory(derived);
        recentKeys.Clear();
    }

    private static string Abbreviated(string keyId) => keyId.Length > 16 ? keyId[..16] + "…" : keyId;
}

/// <summary>
/// Where the NIK-sealing keys come from. Publishers read the public key from <c>Verification:Privacy:NikSealingKeyPath</c>;
/// the audit module its private keys from <c>Verification:Audit:NikSealingKeyPaths</c>. Monolithic mode creates a pair
/// under the data directory on first start; microservices mode needs them configured (a public key is not a secret, the private key is).
/// </summary>
public static class NikSealing
{
    public const string PublicKeySetting = "Verification:Privacy:NikSealingKeyPath";

    public const string DevelopmentPrivateKeyFile = "nik-sealing-key.pem";

    public const string DevelopmentPublicKeyFile = "nik-sealing-key.pub.pem";

    /// <summary>Registers the <see cref="NikSealer"/> a module that publishes NIK-bearing events needs.</summary>
    /// <exception cref="ConfigurationError">Microservices mode without the setting, or a file that holds no P-256 public key.</exception>
    public static IServiceCollection AddNikSealer(this IServiceCollection services, IConfiguration configuration, VerificationHostContext host)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(host);
        var path = configuration[PublicKeySetting];
        if (string.IsNullOrWhiteSpace(path))
        {
            if (host.Options.Mode != HostingMode.Monolithic)
            {
                throw new ConfigurationError(PublicKeySetting, "the audit log's NIK-sealing public key (a P-256 PUBLIC KEY PEM file)");
            }

            // Written with the other first-start files once every setting is checked: read from there until then.
            path = EnsureDevelopmentKeys(host.DataDirectory, host.FirstStart).PublicKeyPath;
            // Through a factory, so the container disposes the key (an instance handed over is never disposed); CA2000 does not follow the capture.
#pragma warning disable CA2000
            var development = new NikSealer(PublicKeyFromPem(host.FirstStart.ReadAllText(path), path));
#pragma warning restore CA2000
            services.AddSingleton(_ => development);
            return services;
        }

#pragma warning disable CA2000 // The container's through the factory below, as above.
        var sealer = new NikSealer(ReadPublicKey(path));
#pragma warning restore CA2000
        services.AddSingleton(_ => sealer);
        return services;
    }

    /// <summary>The development pair under <c>&lt;data&gt;/audit</c>, created on first use.</summary>
    public static (string PrivateKeyPath, string PublicKeyPath) EnsureDevelopmentKeys(string dataDirectory)
    {
        var files = new FirstStartFiles();
        var paths = EnsureDevelopmentKeys(dataDirectory, files);
        files.WriteAll();
        return paths;
    }

    /// <summary>The development pair under <c>&lt;data&gt;/audit</c>, handed to <paramref name="files"/> to write unless it exists.</summary>
    public static (string PrivateKeyPath, string PublicKeyPath) EnsureDevelopmentKeys(string dataDirectory, FirstStartFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var directory = Path.Combine(dataDirectory, "audit");
        var privateKeyPath = Path.Combine(directory, DevelopmentPrivateKeyFile);
        var publicKeyPath = Path.Combine(directory, DevelopmentPublicKeyFile);
        var privatePem = files.ReadOrCreate(privateKeyPath, () =>
        {
            using var generated = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            return generated.ExportPkcs8PrivateKeyPem() + "\n";
        });
        files.ReadOrCreate(publicKeyPath, () =>
        {
            using var key = PrivateKeyFromPem(privatePem, privateKeyPath, "the development NIK-sealing key");
            return key.ExportSubjectPublicKeyInfoPem() + "\n";
        }, secret: false);
        return (privateKeyPath, publicKeyPath);
    }

    /// <exception cref="ConfigurationError">The file is missing or holds no P-256 public key.</exception>
    public static ECDiffieHellman ReadPublicKey(string path) => PublicKeyFromPem(ReadPem(path, PublicKeySetting), path);

    /// <exception cref="ConfigurationError">The text is no P-256 public key.</exception>
    public static ECDiffieHellman PublicKeyFromPem(string pem, string path)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportFromPem(pem);
            if (pem.Contains("PRIVATE KEY", StringComparison.Ordinal) || !IsP256(key)) throw new CryptographicException();
            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new ConfigurationError(PublicKeySetting, "a PEM file holding a P-256 PUBLIC KEY (the private key stays with the audit module)", path);
        }
    }

    /// <exception cref="ConfigurationError">The file is missing or holds no P-256 private key; named by <paramref name="setting"/>, its content never echoed.</exception>
    public static ECDiffieHellman ReadPrivateKey(string path, string setting) => PrivateKeyFromPem(ReadPem(path, setting), path, setting);

    /// <exception cref="ConfigurationError">The text is no P-256 private key; named by <paramref name="setting"/>, never echoed.</exception>
    public static ECDiffieHellman PrivateKeyFromPem(string pem, string path, string setting)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportFromPem(pem);
            if (!pem.Contains("PRIVATE KEY", StringComparison.Ordinal) || !IsP256(key)) throw new CryptographicException();
            return key;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new ConfigurationError(setting, "a PEM file holding a P-256 private key (PRIVATE KEY or EC PRIVATE KEY)", path);
        }
    }

    private static string ReadPem(string path, string setting) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new ConfigurationError(setting, "an existing PEM file", path);

    // OpenSSL reports an imported curve by OID value or by one of its names, depending on the key's encoding.
    private static bool IsP256(ECDiffieHellman key)
    {
        var oid = key.ExportParameters(false).Curve.Oid;
        return key.KeySize == 256 && (oid.Value == "1.2.840.10045.3.1.7" || oid.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1" or "secp256r1");
    }
}
