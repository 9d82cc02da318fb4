using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;

namespace Verification.Platform.Tests;

/// <summary>A sealed NIK opens only with the audit key it was sealed to and only for the event it was sealed in.</summary>
public sealed class NikSealTests : IDisposable
{
    private const string Nik = "3374015505900001";
    private readonly string directory = Directory.CreateTempSubdirectory("verification-nik-seal-").FullName;

    [Fact]
    public void A_sealed_nik_opens_with_the_private_key_for_the_same_event_and_holds_no_clear_nik()
    {
        using var key = NewKey();
        using var sealer = new NikSealer(PublicOnly(key));
        using var opener = new NikOpener([Copy(key)]);
        var eventId = Guid.NewGuid();

        var sealedNik = sealer.Seal(Nik, eventId);

        Assert.Equal(NikSeal.KeyId(key), sealedNik.KeyId);
        Assert.Equal(Nik, opener.Open(sealedNik, eventId));
        var envelope = Convert.FromBase64String(sealedNik.Envelope);
        Assert.DoesNotContain(Nik, sealedNik.Envelope, StringComparison.Ordinal);
        Assert.DoesNotContain(Nik, Encoding.ASCII.GetString(envelope), StringComparison.Ordinal);
        // A fresh nonce each time: two seals of one NIK for one event share no ciphertext an observer could match.
        var again = Convert.FromBase64String(sealer.Seal(Nik, eventId).Envelope);
        Assert.NotEqual(Ciphertext(envelope).ToArray(), Ciphertext(again).ToArray());
        Assert.NotEqual(Nonce(envelope).ToArray(), Nonce(again).ToArray());
    }

    [Fact]
    public void One_ephemeral_key_serves_a_minute_of_seals_and_a_fresh_one_the_next_each_envelope_opening_alone()
    {
        using var key = NewKey();
        var clock = new MovableClock();
        using var sealer = new NikSealer(PublicOnly(key), clock);
        using var opener = new NikOpener([Copy(key)]);
        var events = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();

        var first = sealer.Seal(Nik, events[0]);
        var second = sealer.Seal("3374015505900002", events[1]);
        clock.Advance(NikSealer.EphemeralLifetime);
        var third = sealer.Seal(Nik, events[2]);
        var fourth = sealer.Seal(Nik, events[3]);

        Assert.Equal(Point(first).ToArray(), Point(second).ToArray());
        Assert.NotEqual(Point(second).ToArray(), Point(third).ToArray());
        Assert.Equal(Point(third).ToArray(), Point(fourth).ToArray());
        Assert.Equal([Nik, "3374015505900002", Nik, Nik], new[] { first, second, third, fourth }.Select((s, i) => opener.Open(s, events[i])));
        // The opener's remembered key for a point opens nothing sealed for another event, nor a copy opened twice out of place.
        Assert.Throws<SealedNikException>(() => opener.Open(second, events[0]));
        Assert.Throws<SealedNikException>(() => opener.Open(fourth, events[2]));
    }

    [Fact]
    public void A_point_moved_from_one_envelope_onto_another_of_the_same_key_does_not_open()
    {
        using var key = NewKey();
        var clock = new MovableClock();
        using var sealer = new NikSealer(PublicOnly(key), clock);
        using var opener = new NikOpener([Copy(key)]);
        var early = Guid.NewGuid();
        var late = Guid.NewGuid();
        var earlyEnvelope = Convert.FromBase64String(sealer.Seal(Nik, early).Envelope);
        clock.Advance(NikSealer.EphemeralLifetime);
        var lateEnvelope = Convert.FromBase64String(sealer.Seal(Nik, late).Envelope);
        Assert.Equal(Nik, opener.Open(new SealedNik(NikSeal.KeyId(key), Convert.ToBase64String(earlyEnvelope)), early));

        Point(earlyEnvelope).CopyTo(lateEnvelope.AsSpan(1));

        Assert.Throws<SealedNikException>(() => opener.Open(new SealedNik(NikSeal.KeyId(key), Convert.ToBase64String(lateEnvelope)), late));
    }

    private static ReadOnlySpan<byte> Point(SealedNik sealedNik) => Point(Convert.FromBase64String(sealedNik.Envelope));

    private static ReadOnlySpan<byte> Point(byte[] envelope) => envelope.AsSpan(1, 65);

    private static ReadOnlySpan<byte> Nonce(byte[] envelope) => envelope.AsSpan(66, 12);

    private static ReadOnlySpan<byte> Ciphertext(byte[] envelope) => envelope.AsSpan(1 + 65 + 12 + 16);

    private sealed class MovableClock : TimeProvider
    {
        private TimeSpan offset;

        public void Advance(TimeSpan by) => offset += by;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
    }

    [Fact]
    public void A_sealed_nik_moved_to_another_event_does_not_open()
    {
        using var key = NewKey();
        using var sealer = new NikSealer(PublicOnly(key));
        using var opener = new NikOpener([Copy(key)]);

        var sealedNik = sealer.Seal(Nik, Guid.NewGuid());

        var refused = Assert.Throws<SealedNikException>(() => opener.Open(sealedNik, Guid.NewGuid()));
        Assert.DoesNotContain(Nik, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(70)]
    [InlineData(90)]
    [InlineData(-1)]
    public void A_changed_byte_anywhere_in_the_envelope_is_refused(int position)
    {
        using var key = NewKey();
        using var sealer = new NikSealer(PublicOnly(key));
        using var opener = new NikOpener([Copy(key)]);
        var eventId = Guid.NewGuid();
        var envelope = Convert.FromBase64String(sealer.Seal(Nik, eventId).Envelope);
        var at = position < 0 ? envelope.Length - 1 : position;

        envelope[at] ^= 0x01;

        Assert.Throws<SealedNikException>(() => opener.Open(new SealedNik(NikSeal.KeyId(key), Convert.ToBase64String(envelope)), eventId));
    }

    [Fact]
    public void Truncated_or_non_base64_envelopes_are_refused_not_crashed_on()
    {
        using var key = NewKey();
        using var opener = new NikOpener([Copy(key)]);
        var keyId = NikSeal.KeyId(key);

        Assert.Throws<SealedNikException>(() => opener.Open(new SealedNik(keyId, "not base64!"), Guid.NewGuid()));
        Assert.Throws<SealedNikException>(() => opener.Open(new SealedNik(keyId, Convert.ToBase64String(new byte[20])), Guid.NewGuid()));
        Assert.Throws<SealedNikException>(() => opener.Open(new SealedNik(keyId, ""), Guid.NewGuid()));
    }

    [Fact]
    public void An_envelope_for_an_unknown_key_id_or_relabelled_with_another_id_is_refused()
    {
        using var key = NewKey();
        using var other = NewKey();
        using var sealer = new NikSealer(PublicOnly(other));
        using var opener = new NikOpener([Copy(key)]);
        var eventId = Guid.NewGuid();
        var sealedToOther = sealer.Seal(Nik, eventId);

        Assert.Throws<SealedNikException>(() => opener.Open(sealedToOther, eventId));
        // The key id is associated data too: claiming the opener's key id does not make another key's envelope open.
        Assert.Throws<SealedNikException>(() => opener.Open(sealedToOther with { KeyId = NikSeal.KeyId(key) }, eventId));
    }

    [Fact]
    public void After_a_rotation_the_audit_module_opens_events_sealed_to_the_old_and_the_new_key()
    {
        using var oldKey = NewKey();
        using var newKey = NewKey();
        using var oldSealer = new NikSealer(PublicOnly(oldKey));
        using var newSealer = new NikSealer(PublicOnly(newKey));
        using var opener = new NikOpener([Copy(newKey), Copy(oldKey)]);
        var before = Guid.NewGuid();
        var after = Guid.NewGuid();

        Assert.Equal(Nik, opener.Open(oldSealer.Seal(Nik, before), before));
        Assert.Equal(Nik, opener.Open(newSealer.Seal(Nik, after), after));
        Assert.Equal(new[] { NikSeal.KeyId(oldKey), NikSeal.KeyId(newKey) }.Order(), opener.KeyIds.Order());
    }

    [Fact]
    public void Microservices_mode_without_the_public_key_setting_is_a_configuration_error_and_creates_no_key()
    {
        var error = Assert.Throws<ConfigurationError>(() => new ServiceCollection().AddNikSealer(Configuration(), Host(HostingMode.Microservices)));

        Assert.Equal(NikSealing.PublicKeySetting, error.Key);
        Assert.False(Directory.Exists(Path.Combine(directory, "audit")));
    }

    [Fact]
    public void Monolithic_mode_creates_a_development_pair_once_and_seals_to_it()
    {
        var host = Host(HostingMode.Monolithic);
        var services = new ServiceCollection().AddNikSealer(Configuration(), host);
        // Written only once the host has checked every setting (a refused start leaves nothing).
        Assert.False(Directory.Exists(Path.Combine(directory, "audit")));
        host.FirstStart.WriteAll();
        var (privateKeyPath, publicKeyPath) = NikSealing.EnsureDevelopmentKeys(directory);
        var privatePem = File.ReadAllText(privateKeyPath);

        using var provider = services.BuildServiceProvider();
        var sealer = provider.GetRequiredService<NikSealer>();
        using var privateKey = NikSealing.ReadPrivateKey(privateKeyPath, "test");
        using var opener = new NikOpener([privateKey]);
        var eventId = Guid.NewGuid();

        Assert.Equal(Nik, opener.Open(sealer.Seal(Nik, eventId), eventId));
        Assert.Equal(privatePem, File.ReadAllText(NikSealing.EnsureDevelopmentKeys(directory).PrivateKeyPath));
        Assert.Contains("PUBLIC KEY", File.ReadAllText(publicKeyPath), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(privateKeyPath));
    }

    [Fact]
    public void A_private_key_given_where_the_public_key_belongs_is_refused_without_echoing_it()
    {
        using var key = NewKey();
        var path = Path.Combine(directory, "wrong.pem");
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());

        var error = Assert.Throws<ConfigurationError>(() => new ServiceCollection().AddNikSealer(Configuration((NikSealing.PublicKeySetting, path)), Host(HostingMode.Microservices)));

        Assert.Equal(NikSealing.PublicKeySetting, error.Key);
        Assert.DoesNotContain("BEGIN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_on_another_curve_or_a_public_key_given_as_the_private_key_is_refused()
    {
        using var p384 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var wrongCurve = Path.Combine(directory, "p384.pub.pem");
        File.WriteAllText(wrongCurve, p384.ExportSubjectPublicKeyInfoPem());
        using var key = NewKey();
        var publicOnly = Path.Combine(directory, "public.pem");
        File.WriteAllText(publicOnly, key.ExportSubjectPublicKeyInfoPem());

        Assert.Throws<ConfigurationError>(() => NikSealing.ReadPublicKey(wrongCurve));
        Assert.Throws<ConfigurationError>(() => NikSealing.ReadPrivateKey(publicOnly, "Verification:Audit:NikSealingKeyPaths:0"));
        Assert.Throws<ConfigurationError>(() => NikSealing.ReadPublicKey(Path.Combine(directory, "missing.pem")));
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static ECDiffieHellman NewKey() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    private static ECDiffieHellman PublicOnly(ECDiffieHellman key)
    {
        var copy = ECDiffieHellman.Create();
        copy.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return copy;
    }

    private static ECDiffieHellman Copy(ECDiffieHellman key)
    {
        var copy = ECDiffieHellman.Create();
        copy.ImportPkcs8PrivateKey(key.ExportPkcs8PrivateKey(), out _);
        return copy;
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    private VerificationHostContext Host(HostingMode mode) =>
        new(new VerificationOptions { Mode = mode }, new DatabaseOptions(), new BusOptions(), ["kur"], directory);
}
