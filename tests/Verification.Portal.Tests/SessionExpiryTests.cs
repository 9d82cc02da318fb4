using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Verification.Portal;
using Verification.Portal.Sessions;

namespace Verification.Portal.Tests;

/// <summary>
/// A portal whose sessions read a clock the test moves: an idle session ends when the test says so, never because the
/// browser happened to be slow between two pages.
/// </summary>
public sealed class ShortSessionScene : PortalScene
{
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);

    public SessionClock Clock { get; } = new();

    protected override IEnumerable<string> ExtraArguments => [$"--Verification:Portal:SessionIdleTimeout={IdleTimeout:c}"];

    protected override void ReplaceServices(IServiceCollection services) =>
        services.AddSingleton(sp => new MemberSessions(sp.GetRequiredService<PortalSettings>(), Clock));
}

/// <summary>The system's time plus however far the test has moved it.</summary>
public sealed class SessionClock : TimeProvider
{
    private long offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref offsetTicks));
}

/// <summary>Session expiry as the member meets it in the browser.</summary>
public sealed class SessionExpiryTests(ShortSessionScene scene) : IClassFixture<ShortSessionScene>
{
    [Fact]
    public async Task AnIdleSessionEndsOnTheServerAndTheMemberIsToldSoAndReturnedWhereTheyWereAfterSigningInAgain()
    {
        var (context, page) = await scene.SignInAsync("kemnaker");
        await using var _ = context;
        await page.GotoAsync("/pegawai");
        Assert.EndsWith("/pegawai", page.Url, StringComparison.Ordinal);

        // Nothing touches the session meanwhile (no page is open that polls): once the idle time has passed it must be gone.
        await page.GotoAsync("about:blank");
        scene.Clock.Advance(ShortSessionScene.IdleTimeout + TimeSpan.FromSeconds(1));

        var response = await page.GotoAsync(scene.PortalAddress + "/pegawai");
        Assert.Matches(new Regex("/masuk\\?berakhir=1&kembali=%2Fpegawai$"), page.Url);
        Assert.Equal(200, response!.Status);
        Assert.Equal("Sesi Anda telah berakhir. Silakan masuk kembali.", (await page.TextContentAsync("main p.notice[role=status]"))?.Trim());
        // The stale cookie is dropped, not kept for another try.
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "verification-portal");
        await PortalScene.AssertAccessibleAsync(page);

        await page.FillAsync("#token", scene.Token("kemnaker"));
        await page.ClickAsync("form.card button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/pegawai$"));
        Assert.Equal(1, await page.Locator("header form[action='/keluar']").CountAsync());
    }
}
