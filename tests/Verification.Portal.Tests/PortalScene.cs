using System.Text;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Verification.Host;
using Verification.Platform.Hosting;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Verification.Portal.Tests;

/// <summary>
/// The monolithic host with every module (the portal included) in process on free ports, and one headless Debian chromium
/// driven by Playwright: what a member's browser sees. One scene per test class.
/// </summary>
public class PortalScene : IAsyncLifetime
{
    /// <summary>Where Debian's chromium package puts the browser itself (the /usr/bin/chromium wrapper adds flags of its own).</summary>
    public static readonly string ChromiumPath = File.Exists("/usr/lib/chromium/chromium") ? "/usr/lib/chromium/chromium" : "/usr/bin/chromium";

    private WebApplication? _app;
    private IPlaywright? _playwright;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "verification-portal-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>The gRPC address (h2c).</summary>
    public string GrpcAddress { get; private set; } = "";

    /// <summary>The portal's address (HTTP/1.1).</summary>
    public string PortalAddress { get; private set; } = "";

    public IBrowser Browser { get; private set; } = null!;

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The host is stopped.");

    public string PublicKeyPem => File.ReadAllText(Path.Combine(DataDirectory, "audit", "tree-head-signing-key.pub.pem"));

    public string AuditDatabase => Path.Combine(DataDirectory, "audit.db");

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        await PrepareAsync();
        await StartHostAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>Files a test class needs in place before the host first starts (members, keys, certificates).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>Settings a test class needs beyond the scene's own (command-line form).</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    /// <summary>Services a test class replaces after the modules have composed themselves (the last registration wins).</summary>
    protected virtual void ReplaceServices(IServiceCollection services)
    {
    }

    public async Task StartHostAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={DataDirectory}",
            "--Verification:Audit:TreeHeadEntries=1",
            "--Verification:Audit:TreeHeadInterval=00:00:00.100",
            "--Verification:Audit:PollInterval=00:00:00.050",
            // Every test signs in from 127.0.0.1: the per-address limit is for people, not a test run.
            "--Verification:Portal:SignInAttemptsPerMinute=1000",
            .. ExtraArguments,
        ]);
        builder.AddVerificationHost(ModuleCatalog.All);
        ReplaceServices(builder.Services);
        _app = builder.Build();
        _app.MapVerificationHost(ModuleCatalog.All);
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        // Kestrel lists its endpoints in the order they were configured: gRPC first, the portal last.
        GrpcAddress = Loopback(addresses[0]);
        PortalAddress = Loopback(addresses[^1]);
    }

    public async Task StopHostAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
        SqliteConnection.ClearAllPools();
    }

    private static string Loopback(string address) => address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');

    /// <summary>A fresh browser context (its own cookies), signed in as <paramref name="member"/> through the sign-in page.</summary>
    public async Task<(IBrowserContext Context, IPage Page)> SignInAsync(string member, string language = "id")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = PortalAddress, Locale = language == "en" ? "en-GB" : "id-ID", AcceptDownloads = true });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/masuk");
        await page.FillAsync("#token", Token(member));
        await page.ClickAsync("form.card button[type=submit]");
        await ArrivedAsync(page, SignedIn);
        return (context, page);
    }

    /// <summary>Any page but the sign-in page: where a sign-in leads.</summary>
    public static readonly Regex SignedIn = new("^(?!.*/masuk)");

    /// <summary>
    /// Waits until the page's URL matches <paramref name="url"/> and its document has loaded. Not WaitForURLAsync: it checks
    /// the load state and then subscribes to its event, and can miss a load that lands in between (microsoft/playwright-dotnet#3364).
    /// </summary>
    public static async Task ArrivedAsync(IPage page, Regex url, float timeoutMilliseconds = 30_000)
    {
        await Assertions.Expect(page).ToHaveURLAsync(url, new PageAssertionsToHaveURLOptions { Timeout = timeoutMilliseconds });
        await page.WaitForFunctionAsync("document.readyState === 'complete'", null, new PageWaitForFunctionOptions { Timeout = timeoutMilliseconds });
    }

    /// <summary>axe-core's check of the page as it is: no serious or critical violation.</summary>
    public static async Task AssertAccessibleAsync(IPage page)
    {
        var result = await page.RunAxe();
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        var report = new StringBuilder();
        foreach (var v in bad) report.AppendLine($"{v.Id} ({v.Impact}): {v.Help} — {string.Join(" | ", v.Nodes.Select(n => string.Join(" ", n.Target)))}");
        Assert.True(bad.Count == 0, $"{page.Url}:\n{report}");
    }

    /// <summary>Saves a screenshot into the folder VERIFICATION_PORTAL_SCREENSHOTS names (docs/portal/ via tests/portal-screenshots.sh).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("VERIFICATION_PORTAL_SCREENSHOTS") is not { Length: > 0 } folder) return;
        Directory.CreateDirectory(folder);
        await page.SetViewportSizeAsync(1280, 900);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name + ".png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        await StopHostAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans its temp folder.
        }
    }
}
