using Microsoft.Playwright;
using Verification.LoadTests;
using Verification.LoadTests.Harness;

namespace Verification.Portal.Tests;

/// <summary>
/// The portal in microservices mode: a verification-host process running only the portal, beside one process per module
/// (PostgreSQL, RabbitMQ), reached by a real browser. Nothing but the members file and the modules' addresses joins them.
/// </summary>
public sealed class MicroservicesPortalTests : IAsyncLifetime
{
    private static readonly string[] Processes = ["membership", "kur", "prakerja", "nonasn", "audit", Suite.Portal];

    private Suite? _suite;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        // Six processes starting at once on a shared two-core machine: minutes are a hang guard, not a speed check.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        _suite = await Suite.StartAsync(new LoadOptions { TreeHeadInterval = TimeSpan.FromSeconds(1), StartTimeout = TimeSpan.FromMinutes(10) }, Processes, TextWriter.Null, timeout.Token);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = PortalScene.ChromiumPath, Headless = true });
    }

    [Fact]
    public async Task ThePortalInItsOwnProcessSignsABankInAndEnrolsAndVerifiesThroughTheModuleProcesses()
    {
        var suite = _suite!;
        var portal = $"http://127.0.0.1:{suite.PortalPort}";
        await using var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = portal, Locale = "id-ID" });
        // Each page crosses processes (portal → KUR → Membership): two minutes per step is a hang guard on a loaded machine.
        context.SetDefaultTimeout(120_000);
        var page = await context.NewPageAsync();

        await page.GotoAsync("/masuk");
        await page.FillAsync("#token", suite.Token("bank-bri"));
        await page.ClickAsync("form.card button[type=submit]");
        await PortalScene.ArrivedAsync(page, PortalScene.SignedIn, 120_000);
        Assert.Equal(portal + "/", page.Url);

        // A fresh NIK: the Membership process answers through the portal's process.
        var nik = Nik.New();
        await page.GotoAsync("/kur/verifikasi");
        await page.FillAsync("#nik", nik);
        await page.ClickAsync("form.card button[type=submit]");
        await page.Locator("#verify-answer").WaitForAsync();
        Assert.Equal("Tidak terdaftar", await page.TextContentAsync("#verify-status"));

        // An enrolment: portal → KUR's process → Membership's process, and the participant number comes back to the page.
        var loan = "SIKP-" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        await page.GotoAsync("/kur/daftar");
        await page.FillAsync("#LoanReference", loan);
        await page.SelectOptionAsync("#Scheme", "Mikro");
        await page.FillAsync("#LoanAmount", "50000000");
        await page.FillAsync("#DisbursementDate", Nik.JakartaToday.ToString("yyyy-MM-dd"));
        await page.FillAsync("#Nik", nik);
        await page.FillAsync("#FullName", "Siti Rahayu");
        await page.FillAsync("#BirthDate", "1990-08-15");
        await page.SelectOptionAsync("#Sex", "Male");
        await page.FillAsync("#BusinessSector", "47111");
        await page.FillAsync("#RegionCode", "3374");
        await page.FillAsync("#Income", "3000000");
        await page.ClickAsync("form.grid button[type=submit]");
        await page.Locator("#enrol-answer").WaitForAsync();
        var participant = await page.TextContentAsync("#enrol-participant");
        Assert.Matches("^[0-9]{11}$", participant);

        await page.GotoAsync("/kur/verifikasi");
        await page.FillAsync("#nik", nik);
        await page.ClickAsync("form.card button[type=submit]");
        await page.Locator("#verify-answer").WaitForAsync();
        Assert.Equal("Aktif", await page.TextContentAsync("#verify-status"));

        // Each of these is its own operating-system process, and the portal's is still serving.
        Assert.Equal(Processes.Length, Processes.Select(p => suite.Hosts[p].Pid).Distinct().Count(pid => pid is not null));
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        if (_suite is not null) await _suite.DisposeAsync();
    }
}
