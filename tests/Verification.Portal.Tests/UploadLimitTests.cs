using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Verification.Portal.Tests;

/// <summary>A portal whose uploads may be at most 1 MB.</summary>
public sealed class SmallUploadScene : PortalScene
{
    protected override IEnumerable<string> ExtraArguments => ["--Verification:Portal:MaxUploadMegabytes=1"];
}

/// <summary>A staff file over the configured limit, sent from a browser with and without the page's script.</summary>
public sealed class UploadLimitTests(SmallUploadScene scene) : IClassFixture<SmallUploadScene>
{
    private const string Header = "nik,full_name,birth_date,sex,position,work_unit,employment_type,contract_start_date,monthly_wage_rupiah\n";

    /// <summary>About 1.5 MB of valid rows: had any been sent to NonAsn, the first one's name would be in the staff list.</summary>
    private static (byte[] File, string FirstName) OverTheLimit()
    {
        var first = "Rahmat " + Guid.NewGuid().ToString("N")[..8];
        var csv = new StringBuilder(Header);
        csv.Append(Nik.New()).Append(',').Append(first).Append(",1990-08-15,M,Staf,Biro Umum,PPNPN,2026-01-01,3500000\n");
        while (csv.Length < 1_500_000) csv.Append(Nik.New()).Append(",Pegawai Contoh,1990-08-15,M,Staf,Biro Umum,PPNPN,2026-01-01,3500000\n");
        return (Encoding.UTF8.GetBytes(csv.ToString()), first);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStaffFileOverTheLimitIsRefusedWithAnIndonesianAnswerNothingIsWrittenAndTheNextUploadWorks(bool script)
    {
        var context = await scene.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = scene.PortalAddress, Locale = "id-ID", JavaScriptEnabled = script });
        await using var _ = context;
        var page = await context.NewPageAsync();
        await page.GotoAsync("/masuk");
        await page.FillAsync("#token", scene.Token("kemnaker"));
        await page.ClickAsync("form.card button[type=submit]");
        await PortalScene.ArrivedAsync(page, PortalScene.SignedIn);

        var (file, firstName) = OverTheLimit();
        await page.GotoAsync("/pegawai/unggah");
        await page.SetInputFilesAsync("#file", new FilePayload { Name = "pegawai-besar.csv", MimeType = "text/csv", Buffer = file });
        await page.ClickAsync("form[data-upload] button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/pegawai/unggah\\?galat=UploadTooLarge$"));
        Assert.Equal("Berkas terlalu besar: paling besar 1 MB. Bagilah menjadi beberapa berkas.", (await page.TextContentAsync("#upload-error"))?.Trim());
        // axe-core runs as page script: only where the page may run script.
        if (script) await PortalScene.AssertAccessibleAsync(page);

        await page.GotoAsync("/pegawai");
        Assert.DoesNotContain(firstName, await page.ContentAsync(), StringComparison.Ordinal);

        // The portal is still up for the same member: a small file goes through and its row is registered.
        var small = Header + $"{Nik.New()},Sri Wahyuni,1990-08-15,M,Staf,Biro Umum,PPNPN,2026-01-01,3500000\n";
        await page.GotoAsync("/pegawai/unggah");
        await page.SetInputFilesAsync("#file", new FilePayload { Name = "pegawai.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(small) });
        await page.ClickAsync("form[data-upload] button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/pegawai/unggah/[0-9a-f]{32}$"));
        if (!script)
        {
            // Without the script nothing polls: reload until NonAsn has answered.
            for (var reloads = 0; !await page.Locator("#upload-results").IsVisibleAsync(); reloads++)
            {
                Assert.True(reloads < 1200, "NonAsn never answered the one row");
                await page.WaitForTimeoutAsync(250);
                await page.ReloadAsync();
            }
        }

        await page.Locator("#upload-results").WaitForAsync();
        Assert.Equal("1", await page.TextContentAsync("#count-registered"));
    }
}
