using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Playwright;
using Verification.Api;
using Verification.Api.Access.V1;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Platform.Access;
using Verification.Platform.Hosting;
using MemberRole = Verification.Platform.Access.MemberRole;
using Verification.Testing;

namespace Verification.Portal.Tests;

/// <summary>
/// The monolithic host under TLS with a delegating portal: a portal member ("portal", its token and delegation key), a bank known
/// only by its client certificate ("bank-mandiri") and, for the refusals, a certificate no member owns. Certificates from a test
/// CA; members pinned by thumbprint, as on the gRPC side without a client CA.
/// </summary>
public sealed class DelegatingPortalScene : PortalScene
{
    public const string CertificateMember = "bank-mandiri";
    public const string PortalMember = "portal";

    private string Files => Path.Combine(DataDirectory, "test-credentials");

    public string CaFile => Path.Combine(Files, "ca.pem");

    public string MemberCertificate => Path.Combine(Files, "bank-mandiri.pem");

    public string MemberKey => Path.Combine(Files, "bank-mandiri.key");

    public string StrangerCertificate => Path.Combine(Files, "stranger.pem");

    public string StrangerKey => Path.Combine(Files, "stranger.key");

    public string PortalKeyFile => Path.Combine(Files, "portal-delegation.key");

    public string PortalTokenFile => Path.Combine(Files, "portal.token");

    private string ServerCertificate => Path.Combine(Files, "server.pem");

    private string ServerKey => Path.Combine(Files, "server.key");

    protected override IEnumerable<string> ExtraArguments =>
    [
        $"--Verification:Listen:CertificatePath={ServerCertificate}",
        $"--Verification:Listen:CertificateKeyPath={ServerKey}",
        $"--Verification:Internal:ServerCaPath={CaFile}",
        $"--Verification:Portal:DelegationKeyPath={PortalKeyFile}",
        $"--Verification:Portal:DelegationTokenPath={PortalTokenFile}",
    ];

    protected override async Task PrepareAsync()
    {
        Directory.CreateDirectory(Files);
        using var ca = TestCertificates.NewAuthority("Portal Test CA");
        await File.WriteAllTextAsync(CaFile, ca.ExportCertificatePem());
        using var server = TestCertificates.Issue(ca);
        TestCertificates.WritePem(server, Files, "server");

        var memberThumbprint = await ClientCertificateAsync("CN=Bank Mandiri", MemberCertificate, MemberKey);
        await ClientCertificateAsync("CN=Nobody", StrangerCertificate, StrangerKey);

        using var portalKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await File.WriteAllTextAsync(PortalKeyFile, portalKey.ExportPkcs8PrivateKeyPem());
        var portalToken = MemberDirectory.NewToken();
        await File.WriteAllTextAsync(PortalTokenFile, portalToken);

        // Monolithic mode's development members, plus the two this scene needs; the host then loads the file as it is.
        var (membersFile, _, _) = DevelopmentMembers.EnsureCreated(DataDirectory);
        var members = MemberDirectory.Parse(await File.ReadAllBytesAsync(membersFile)).ToList();
        members.Add(new MemberEntry { Code = CertificateMember, Name = "Bank Mandiri (certificate only)", Role = MemberRole.Bank, BankCode = "008", CertificateThumbprints = [memberThumbprint] });
        members.Add(new MemberEntry
        {
            Code = PortalMember, Name = "Partner portal", Role = MemberRole.Portal,
            TokenHashes = [MemberDirectory.HashToken(portalToken)], DelegationKeys = [MemberDelegation.PublicKeyText(portalKey)],
        });
        await File.WriteAllTextAsync(membersFile, JsonSerializer.Serialize(members, MemberDirectory.FileJson));
    }

    private static async Task<string> ClientCertificateAsync(string subject, string certificateFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(certificateFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    public ECDsa PortalKey()
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(PortalKeyFile));
        return key;
    }

    public string PortalToken => File.ReadAllText(PortalTokenFile).Trim();

    /// <summary>A gRPC channel to the host that trusts the scene's CA, as <paramref name="token"/>'s holder.</summary>
    public VerificationChannel Channel(string token) => new(GrpcAddress, new ChannelSettings
    {
        BearerToken = token,
        ServerCertificateValidation = CertificateAuthority.ServerValidation(X509CertificateLoader.LoadCertificateFromFile(CaFile)),
        RetryUnavailable = false,
    });

    /// <summary>A browser context for the portal that presents <paramref name="certificate"/> (or, with null, none: a certificate for another origin only).</summary>
    public Task<IBrowserContext> ContextAsync((string Certificate, string Key)? certificate) => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        BaseURL = PortalAddress,
        Locale = "id-ID",
        // The server certificate comes from the test CA, which the browser does not know.
        IgnoreHTTPSErrors = true,
        ClientCertificates =
        [
            certificate is { } presented
                ? new ClientCertificate { Origin = PortalAddress, CertPath = presented.Certificate, KeyPath = presented.Key }
                // Playwright's documented way to present no certificate: one for an origin never visited.
                : new ClientCertificate { Origin = "https://never-visited.invalid", CertPath = StrangerCertificate, KeyPath = StrangerKey },
        ],
    });
}

/// <summary>
/// Issue 24's sign-in "with the member's credential (token or client certificate)": a member known only by certificate signs in,
/// the portal calls the modules for it by signed delegation, and the modules authorize, limit and audit those calls as that
/// member; no caller but the portal member can use the delegation.
/// </summary>
public sealed class CertificateSignInTests(DelegatingPortalScene scene) : IClassFixture<DelegatingPortalScene>
{
    private const string WhoAmIMethod = "/verification.access.v1.AccessService/WhoAmI";

    [Fact]
    public async Task AMemberKnownOnlyByItsCertificateSignsInWithItSeesOnlyItsRolesPagesAndADenialIsAuditedInItsName()
    {
        await using var context = await scene.ContextAsync((scene.MemberCertificate, scene.MemberKey));
        var page = await context.NewPageAsync();
        await page.GotoAsync("/kur/verifikasi");
        Assert.Contains("/masuk?kembali=%2Fkur%2Fverifikasi", page.Url, StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await page.ClickAsync("#certificate-sign-in button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/kur/verifikasi$"));

        // A bank's menu, and a bank's call answered: the module admitted the call as bank-mandiri (a Bank), not as the portal.
        var menu = await page.Locator("nav.menu a").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))");
        Assert.Equal(["/", "/kur/verifikasi", "/kur/daftar", "/kur/pendaftaran", "/kur/laporan"], menu);
        var nik = Nik.New();
        await page.FillAsync("#nik", nik);
        await page.ClickAsync("form.card button[type=submit]");
        await page.Locator("#verify-answer").WaitForAsync();
        Assert.Equal("Tidak terdaftar", await page.TextContentAsync("#verify-status"));

        // An auditor's page typed in by hand: Audit refuses the bank, and logs the denial under bank-mandiri, made through the portal.
        var response = await page.GotoAsync("/audit");
        Assert.Equal(403, response!.Status);
        Assert.Equal("Akses ditolak", await page.TextContentAsync("h1"));
        var denial = await WaitForDenialAsync(DelegatingPortalScene.CertificateMember, "/verification.audit.v1.AuditService/GetTreeHead");
        Assert.Equal(DelegatingPortalScene.CertificateMember, Field(denial, "actingMember"));
        Assert.Equal("Bank", Field(denial, "role"));
        Assert.Equal("ROLE_NOT_ALLOWED", Field(denial, "reasonCode"));
        Assert.Equal(DelegatingPortalScene.PortalMember, Field(denial, "relayedBy"));
    }

    [Fact]
    public async Task ABrowserWithoutACertificateOrWithOneNoMemberOwnsIsRefusedAndGetsNoSession()
    {
        await using var without = await scene.ContextAsync(null);
        var page = await without.NewPageAsync();
        await page.GotoAsync("/masuk");
        await page.ClickAsync("#certificate-sign-in button[type=submit]");
        Assert.Equal("Peramban tidak menunjukkan sertifikat klien. Pasang sertifikat institusi Anda atau masuk dengan token.",
            await page.TextContentAsync("#sign-in-error"));
        Assert.DoesNotContain(await without.CookiesAsync(), c => c.Name.EndsWith("verification-portal", StringComparison.Ordinal));

        await using var stranger = await scene.ContextAsync((scene.StrangerCertificate, scene.StrangerKey));
        page = await stranger.NewPageAsync();
        await page.GotoAsync("/masuk");
        await page.ClickAsync("#certificate-sign-in button[type=submit]");
        Assert.Equal("Sertifikat ini tidak terdaftar untuk anggota mana pun.", await page.TextContentAsync("#sign-in-error"));
        Assert.DoesNotContain(await stranger.CookiesAsync(), c => c.Name.EndsWith("verification-portal", StringComparison.Ordinal));
        await page.GotoAsync("/kur/verifikasi");
        Assert.Contains("/masuk", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenMembersCallsThroughADelegatingPortalAreStillItsOwn()
    {
        await using var context = await scene.ContextAsync(null);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/masuk");
        await page.FillAsync("#token", scene.Token("bank-bni"));
        await page.ClickAsync("form.card button[type=submit]");
        await PortalScene.ArrivedAsync(page, PortalScene.SignedIn);

        var response = await page.GotoAsync("/audit/grafik");
        Assert.Equal(403, response!.Status);
        // Delegated (the portal keeps no token): the denial names bank-bni, and the portal it came through.
        var denial = await WaitForDenialAsync("bank-bni", "/verification.audit.v1.AuditService/");
        Assert.Equal(DelegatingPortalScene.PortalMember, Field(denial, "relayedBy"));

        // The portal's own token is no way into the portal.
        await page.GotoAsync("/masuk");
        await page.FillAsync("#token", scene.PortalToken);
        await page.ClickAsync("form.card button[type=submit]");
        Assert.Equal("Token layanan internal tidak dapat digunakan untuk masuk ke portal.", await page.TextContentAsync("#sign-in-error"));
    }

    [Fact]
    public async Task OnlyThePortalMemberWithItsOwnLiveAssertionForThisMethodActsForAMember()
    {
        using var portalKey = scene.PortalKey();
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        string Signed(string member, string method = WhoAmIMethod, ECDsa? key = null, DateTimeOffset? issued = null, string portal = DelegatingPortalScene.PortalMember) =>
            MemberDelegation.Sign(key ?? portalKey, new DelegationClaim(portal, member, method, issued ?? now, (issued ?? now) + TimeSpan.FromSeconds(60)));

        // The door works: the portal's token with its assertion is answered as the member it names, with that member's scope.
        var me = await WhoAmIAsync(scene.PortalToken, Signed(DelegatingPortalScene.CertificateMember));
        Assert.Equal(DelegatingPortalScene.CertificateMember, me.MemberCode);
        Assert.Equal(Api.Access.V1.MemberRole.Bank, me.Role);
        Assert.Equal("008", me.BankCode);

        // Another member presenting a genuine assertion of the portal: refused, and audited under the caller.
        await AssertDeniedAsync(scene.Token("bank-bni"), Signed(DelegatingPortalScene.CertificateMember), "DELEGATION_NOT_ALLOWED");
        await AssertDeniedAsync(scene.Token("internal-services"), Signed(DelegatingPortalScene.CertificateMember), "DELEGATION_NOT_ALLOWED");
        // The portal itself, with assertions that do not hold.
        await AssertDeniedAsync(scene.PortalToken, Signed(DelegatingPortalScene.CertificateMember, key: otherKey), "DELEGATION_INVALID");
        await AssertDeniedAsync(scene.PortalToken, Signed(DelegatingPortalScene.CertificateMember, method: "/verification.membership.v1.MembershipService/VerifyMembership"), "DELEGATION_INVALID");
        await AssertDeniedAsync(scene.PortalToken, Signed(DelegatingPortalScene.CertificateMember, issued: now.AddMinutes(-10)), "DELEGATION_INVALID");
        await AssertDeniedAsync(scene.PortalToken, Signed(DelegatingPortalScene.CertificateMember, portal: "another-portal"), "DELEGATION_INVALID");
        await AssertDeniedAsync(scene.PortalToken, Signed(DevelopmentMembers.InternalMember), "DELEGATION_NOT_ALLOWED");
        await AssertDeniedAsync(scene.PortalToken, Signed("no-such-member"), "DELEGATION_UNKNOWN_MEMBER");
        await AssertDeniedAsync(scene.PortalToken, "not-an-assertion", "DELEGATION_INVALID");
        // Without an assertion the portal is nobody: its role may call nothing.
        await AssertDeniedAsync(scene.PortalToken, null, "ROLE_NOT_ALLOWED");

        var refused = await WaitForDenialAsync("bank-bni", WhoAmIMethod);
        Assert.Equal("DELEGATION_NOT_ALLOWED", Field(refused, "reasonCode"));
        Assert.Equal("bank-bni", Field(refused, "actingMember"));
    }

    [Fact]
    public void AMembersFileGivesDelegationKeysToPortalsOnlyAndEveryPortalHasOne()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var text = MemberDelegation.PublicKeyText(key);
        var valid = new MemberEntry { Code = "portal", Role = MemberRole.Portal, DelegationKeys = [text] };
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), Assert.Single(new MemberDirectory([valid]).DelegationKeysOf("portal")));

        Assert.Contains("without delegationKeys", Assert.Throws<InvalidMembersFileException>(() => new MemberDirectory([new MemberEntry { Code = "portal", Role = MemberRole.Portal }])).Message);
        Assert.Contains("is not a Portal member", Assert.Throws<InvalidMembersFileException>(() =>
            new MemberDirectory([new MemberEntry { Code = "bank", Role = MemberRole.Bank, DelegationKeys = [text] }])).Message);
        using var rsa = RSA.Create(2048);
        Assert.Contains("not a base64 P-256 public key", Assert.Throws<InvalidMembersFileException>(() =>
            new MemberDirectory([new MemberEntry { Code = "portal", Role = MemberRole.Portal, DelegationKeys = [Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())] }])).Message);
    }

    private async Task<WhoAmIResponse> WhoAmIAsync(string token, string? assertion)
    {
        using var channel = scene.Channel(token);
        var headers = new Metadata();
        if (assertion is not null) headers.Add(MemberDelegation.Header, assertion);
        return await new AccessService.AccessServiceClient(channel).WhoAmIAsync(new WhoAmIRequest(), new CallOptions(headers, DateTime.UtcNow.AddSeconds(30)));
    }

    private async Task AssertDeniedAsync(string token, string? assertion, string reason)
    {
        var denied = await Assert.ThrowsAsync<RpcException>(() => WhoAmIAsync(token, assertion));
        Assert.True(denied.StatusCode == StatusCode.PermissionDenied, denied.ToString());
        Assert.Equal(reason, denied.GetDetail<ErrorInfo>()?.Reason);
    }

    /// <summary>The AccessDenied entry of <paramref name="member"/> on a method starting with <paramref name="method"/>, once Audit has logged it.</summary>
    private async Task<JsonElement> WaitForDenialAsync(string member, string method)
    {
        using var channel = scene.Channel(scene.Token("auditor-bpk"));
        var audit = new AuditService.AuditServiceClient(channel);
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var call = audit.Trace(new TraceRequest { MemberCode = member, Limit = 100 }, deadline: DateTime.UtcNow.AddSeconds(30));
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var entry = call.ResponseStream.Current.Entry;
                if (entry.EventType != "AccessDenied") continue;
                var json = JsonDocument.Parse(entry.CanonicalBytes.ToStringUtf8()).RootElement.Clone();
                if (Field(json, "memberCode") == member && Field(json, "rpcMethod")?.StartsWith(method, StringComparison.Ordinal) == true) return json;
            }
            await Task.Delay(50);
        }

        throw new TimeoutException($"no AccessDenied of {member} on {method} in the audit log");
    }

    /// <summary>A string property anywhere in the entry (the event's fields sit inside the canonical envelope).</summary>
    private static string? Field(JsonElement element, string name)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.NameEquals(name) && property.Value.ValueKind == JsonValueKind.String) return property.Value.GetString();
                    if (Field(property.Value, name) is { } found) return found;
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (Field(item, name) is { } found) return found;
                return null;
            default:
                return null;
        }
    }
}
