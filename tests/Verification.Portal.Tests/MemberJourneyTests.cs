using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Verification.Api.Audit.V1;
using Verification.Api.Channels;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;

namespace Verification.Portal.Tests;

/// <summary>Each role's main journey through the portal in a real browser, every page checked by axe-core.</summary>
public sealed class MemberJourneyTests(PortalScene scene) : IClassFixture<PortalScene>
{
    /// <summary>Every URL the page asked for: none may carry a NIK.</summary>
    private static List<string> RecordUrls(IPage page)
    {
        var urls = new List<string>();
        page.Request += (_, request) => { lock (urls) urls.Add(request.Url); };
        return urls;
    }

    [Fact]
    public async Task MinistryUploadsStaffSeesEachRowsResultChangesAWageAndPrintsTheStatement()
    {
        var (context, page) = await scene.SignInAsync("kemnaker");
        await using var _ = context;
        var urls = RecordUrls(page);
        string siti = Nik.New(), budi = Nik.New(), ani = Nik.New();
        var csv = "nik,full_name,birth_date,sex,position,work_unit,employment_type,contract_start_date,monthly_wage_rupiah\n"
            + $"{siti},Siti Rahayu,1990-08-15,M,Staf,Biro Umum,PPNPN,2026-01-01,3500000\n"
            + $"{budi},Budi Santoso,15/08/1990,L,Pengemudi,Biro Umum,HONORER,2026-01-01,\"4.200.000\"\n"
            + $"{ani},Ani Lestari,1990-13-45,P,Staf,Biro Umum,PPNPN,2026-01-01,3000000\n"
            + "1234,Joko Widodo,1990-08-15,M,Staf,Biro Umum,PPNPN,2026-01-01,3000000\n";

        await page.GotoAsync("/pegawai/unggah");
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "pegawai-unggah");
        await page.SetInputFilesAsync("#file", new FilePayload { Name = "pegawai.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await page.ClickAsync("form[data-upload] button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/pegawai/unggah/[0-9a-f]{32}$"));
        // portal.js polls the progress and reloads the page with every row's result once NonAsn has answered them all.
        await page.Locator("#upload-results").WaitForAsync();

        Assert.Equal("2", await page.TextContentAsync("#count-registered"));
        Assert.Equal("2", await page.TextContentAsync("#count-rejected"));
        var errors = page.Locator("#upload-results tr.row-error");
        Assert.Equal(2, await errors.CountAsync());
        var badDate = await errors.Filter(new LocatorFilterOptions { HasText = "Ani Lestari" }).TextContentAsync();
        Assert.Contains("Tanggal lahir", badDate, StringComparison.Ordinal);
        Assert.Contains("tanggal tidak terbaca", badDate, StringComparison.Ordinal);
        var badNik = await errors.Filter(new LocatorFilterOptions { HasText = "Joko Widodo" }).TextContentAsync();
        Assert.Contains("NIK", badNik, StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "pegawai-hasil-unggah");

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("a[href$='hasil.csv']"));
        var results = (await File.ReadAllTextAsync((await download.PathAsync())!)).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("line,row_id,outcome,employment_id,participant_number,status,problems", results[0]);
        Assert.Equal(["REGISTERED", "REGISTERED", "REJECTED", "REJECTED"], results.Skip(1).Select(r => r.Split(',')[2]));

        await page.GotoAsync("/pegawai");
        var list = await page.ContentAsync();
        Assert.Contains("Siti Rahayu", list, StringComparison.Ordinal);
        Assert.Contains(Nik.Masked(siti), list, StringComparison.Ordinal);
        Assert.DoesNotContain(siti, list, StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "pegawai-daftar");

        // A search by NIK posts the form: the staff list answers with that one person, and the URL stays clean.
        await page.FillAsync("#cari", budi);
        await page.ClickAsync("form[role=search] button[type=submit]");
        await page.Locator("table.data tbody tr").First.WaitForAsync();
        Assert.Equal(1, await page.Locator("table.data tbody tr").CountAsync());
        Assert.Contains("Budi Santoso", await page.TextContentAsync("table.data tbody"), StringComparison.Ordinal);

        await page.ClickAsync("table.data tbody a");
        await PortalScene.ArrivedAsync(page, new Regex("/pegawai/ubah"));
        Assert.Equal("Rp4.200.000", await page.TextContentAsync("#current-wage"));
        await page.FillAsync("#upah", "4500000");
        await page.FillAsync("#berlaku", "2026-12-01");
        await page.ClickAsync("form[action*='handler=Wage'] button[type=submit]");
        await page.Locator("#change-done").WaitForAsync();
        Assert.Equal("Rp4.500.000", await page.TextContentAsync("#current-wage"));
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "pegawai-ubah");

        var today = Nik.JakartaToday;
        await page.GotoAsync($"/pegawai/iuran?pemberi=11000001&bulan={today:yyyy-MM}");
        Assert.Contains($"{Nik.IndonesianMonths[today.Month - 1]} {today.Year}", await page.TextContentAsync("h1"), StringComparison.Ordinal);
        Assert.StartsWith("Rp", await page.TextContentAsync("#statement-total"), StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "pegawai-iuran");
        // On paper: the statement and its totals, without the menu, the header, the filters or the print button.
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        Assert.True(await page.IsVisibleAsync("#statement-total"));
        Assert.True(await page.IsVisibleAsync("h1"));
        Assert.False(await page.IsVisibleAsync("nav.menu"));
        Assert.False(await page.IsVisibleAsync("header.top"));
        Assert.False(await page.IsVisibleAsync("button[data-print]"));
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Screen });
        Assert.True(await page.IsVisibleAsync("button[data-print]"));

        lock (urls) Assert.DoesNotContain(urls, u => u.Contains(siti, StringComparison.Ordinal) || u.Contains(budi, StringComparison.Ordinal) || u.Contains(ani, StringComparison.Ordinal));
    }

    [Fact]
    public async Task PrakerjaOfficeSubmitsRecipientsWatchesTheBatchAndResumesTheResultsDownload()
    {
        var (context, page) = await scene.SignInAsync("prakerja-pmo");
        await using var _ = context;
        var rows = new StringBuilder("row_id,nik,cohort\n");
        for (var i = 0; i < 40; i++) rows.Append($"R{i},{Nik.New()},{(i < 25 ? "gelombang-45" : "gelombang-46")}\n");
        rows.Append("R40,12345,gelombang-46\n");

        await page.GotoAsync("/prakerja");
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "prakerja-kirim");
        await page.FillAsync("#label", "Gelombang 45 uji portal");
        await page.SetInputFilesAsync("#file", new FilePayload { Name = "penerima.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(rows.ToString()) });
        await page.ClickAsync("form[data-upload] button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/prakerja/batch/[^/]+$"));
        await page.Locator("#download-results").WaitForAsync();

        Assert.Equal("Selesai", await page.TextContentAsync("#batch-state"));
        Assert.Equal(1, await page.Locator("#cohort-chart svg").CountAsync());
        var cohorts = await page.TextContentAsync("#cohort-table tbody");
        Assert.Contains("gelombang-45", cohorts, StringComparison.Ordinal);
        Assert.Contains("gelombang-46", cohorts, StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "prakerja-batch");

        var href = await page.GetAttributeAsync("#download-results", "href");
        var whole = await page.APIRequest.GetAsync(href!);
        Assert.Equal(200, whole.Status);
        var all = await whole.BodyAsync();
        var lines = Encoding.UTF8.GetString(all).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("offset,row_id,status,invalid_nik_reason", lines[0]);
        Assert.Equal(42, lines.Length);
        Assert.EndsWith("INVALID_NIK,WRONG_LENGTH", lines[^1], StringComparison.Ordinal);
        // A broken download resumes from the byte it reached, and gets exactly the rest.
        var rest = await page.APIRequest.GetAsync(href!, new APIRequestContextOptions { Headers = new Dictionary<string, string> { ["Range"] = "bytes=100-" } });
        Assert.Equal(206, rest.Status);
        Assert.Equal(all[100..], await rest.BodyAsync());
    }

    [Fact]
    public async Task BankBranchVerifiesANikEnrolsABorrowerWithChecksAsItTypesAndSeesItInItsListAndReport()
    {
        var (context, page) = await scene.SignInAsync("bank-bri");
        await using var _ = context;
        var urls = RecordUrls(page);
        var nik = Nik.New();

        await page.GotoAsync("/kur/verifikasi");
        await page.FillAsync("#nik", "3374");
        Assert.Equal("NIK terdiri dari 16 angka", await page.TextContentAsync("#nik-check"));
        await page.FillAsync("#nik", nik);
        Assert.Equal("Format benar", await page.TextContentAsync("#nik-check"));
        await page.ClickAsync("form.card button[type=submit]");
        await page.Locator("#verify-answer").WaitForAsync();
        Assert.Equal("Tidak terdaftar", await page.TextContentAsync("#verify-status"));
        Assert.Equal(nik, await page.InputValueAsync("#nik"));
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "kur-verifikasi");

        var loan = "SIKP-" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        await page.GotoAsync("/kur/daftar");
        await page.FillAsync("#LoanReference", loan);
        await page.SelectOptionAsync("#Scheme", "SuperMikro");
        await page.FillAsync("#LoanAmount", "500000000");
        await page.FillAsync("#DisbursementDate", Nik.JakartaToday.AddDays(30).ToString("yyyy-MM-dd"));
        await page.FillAsync("#Nik", "99" + nik[2..]);
        Assert.Equal("Kode provinsi tidak dikenal", await page.TextContentAsync("#nik-check"));
        await page.FillAsync("#Nik", nik);
        await page.FillAsync("#FullName", "Siti Rahayu");
        await page.FillAsync("#BirthDate", "1990-08-16");
        Assert.Equal("Tanggal lahir berbeda dengan NIK", await page.TextContentAsync("#nik-check"));
        await page.FillAsync("#BirthDate", "1990-08-15");
        Assert.Equal("Format benar", await page.TextContentAsync("#nik-check"));
        await page.SelectOptionAsync("#Sex", "Male");
        await page.FillAsync("#BusinessSector", "47111");
        await page.FillAsync("#RegionCode", "3374");
        await page.FillAsync("#Income", "3000000");
        await page.ClickAsync("form.grid button[type=submit]");
        // KUR's own ceiling: the violation names the field in the member's language.
        await page.Locator(".problem .violations").WaitForAsync();
        Assert.Contains("Plafon pinjaman", await page.TextContentAsync(".problem .violations"), StringComparison.Ordinal);
        await PortalScene.ScreenshotAsync(page, "kur-daftar-ditolak");

        await page.SelectOptionAsync("#Scheme", "Mikro");
        await page.FillAsync("#LoanAmount", "50000000");
        await page.ClickAsync("form.grid button[type=submit]");
        await page.Locator("#enrol-answer").WaitForAsync();
        Assert.Matches("^[0-9]{11}$", await page.TextContentAsync("#enrol-participant"));
        Assert.StartsWith("Rp", await page.TextContentAsync("#enrol-contribution"), StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "kur-daftar");

        await page.GotoAsync("/kur/pendaftaran?skema=Mikro");
        var enrolment = page.Locator("#enrolments tbody tr", new PageLocatorOptions { HasText = loan });
        Assert.Equal(1, await enrolment.CountAsync());
        Assert.Contains(Nik.Masked(nik), await enrolment.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("Rp50.000.000", await enrolment.TextContentAsync(), StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "kur-pendaftaran");

        await page.GotoAsync("/kur/laporan");
        Assert.Equal(1, await page.Locator("#coverage-chart svg").CountAsync());
        Assert.Contains("Mikro", await page.TextContentAsync("#coverage-table tbody"), StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "kur-laporan");

        // The same page in English: the member's choice, kept in a cookie.
        await page.ClickAsync("a[lang=en]");
        await PortalScene.ArrivedAsync(page, new Regex("/kur/laporan$"));
        Assert.Equal("KUR coverage report", await page.TextContentAsync("h1"));
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));

        lock (urls) Assert.DoesNotContain(urls, u => u.Contains(nik, StringComparison.Ordinal) || u.Contains(nik[2..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuditorTracesALoanReadsItsCanonicalJsonAndProvesItInTheBrowser()
    {
        var loan = "SIKP-" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        var borrowerNik = Nik.New();
        using (var channel = new VerificationChannel(scene.GrpcAddress, new ChannelSettings { BearerToken = scene.Token("bank-bri") }))
        {
            await new KurService.KurServiceClient(channel).EnrolBorrowerAsync(new EnrolBorrowerRequest
            {
                BankCode = "002", LoanReference = loan, Scheme = KurScheme.Mikro, LoanAmountRupiah = 25_000_000,
                DisbursementDate = new Date { Year = Nik.JakartaToday.AddDays(20).Year, Month = Nik.JakartaToday.AddDays(20).Month, Day = Nik.JakartaToday.AddDays(20).Day },
                Borrower = new Borrower { Nik = borrowerNik, FullName = "Dewi Lestari", BirthDate = new Date { Year = 1990, Month = 8, Day = 15 }, Sex = Sex.Male, BusinessSector = "47111", RegionCode = "3374", DeclaredMonthlyIncomeRupiah = 2_500_000 },
            });
        }

        var (context, page) = await scene.SignInAsync("auditor-bpk");
        await using var _ = context;
        await page.GotoAsync("/audit");
        await PortalScene.AssertAccessibleAsync(page);
        await page.SelectOptionAsync("#kunci", "loan");
        await page.FillAsync("#nilai", loan);
        // Audit hears the enrolment from the bus and a signed head follows: trace until the entry is there (bounded).
        for (var attempt = 0; attempt < 100 && await page.Locator("#entries li.entry").CountAsync() == 0; attempt++)
        {
            await page.ClickAsync("form[role=search] button[type=submit]");
            await page.Locator("#trace-count").WaitForAsync();
        }

        var entry = page.Locator("#entries li.entry").First;
        Assert.Contains(loan, await entry.Locator("pre.canonical").TextContentAsync(), StringComparison.Ordinal);
        // An auditor traces what happened, not who the person is: the page never shows the borrower's name or whole NIK (issue 25).
        // The entries' canonical bytes ride along as base64 for the proof script (their JSON is shown in pre.canonical):
        // random base64 can spell "dewi", so those attribute values are left out.
        var shown = Regex.Replace(await page.ContentAsync(), "data-canonical=\"[^\"]*\"", "");
        Assert.DoesNotContain("Dewi", shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Lestari", shown, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(borrowerNik, shown, StringComparison.Ordinal);
        await page.FillAsync("#log-key", scene.PublicKeyPem);
        await page.DispatchEventAsync("#log-key", "change");
        await entry.Locator("button[data-prove]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('#entries li.entry').dataset.proof !== 'running'");
        Assert.Equal("proved", await entry.GetAttributeAsync("data-proof"));
        Assert.Equal(0, await entry.Locator(".proof-steps li.fail").CountAsync());
        // Five steps (leaf hash, stated fields, proof fetched, root, signature) and the verdict.
        Assert.Equal(5, await entry.Locator(".proof-steps li.pass:not(.verdict)").CountAsync());
        Assert.Equal(1, await entry.Locator(".proof-steps li.verdict.pass").CountAsync());
        await entry.Locator("details summary").ClickAsync();
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "audit-jejak");

        await page.GotoAsync("/audit/grafik");
        Assert.Equal(1, await page.Locator("#growth-chart svg").CountAsync());
        Assert.Equal(1, await page.Locator("#denials-chart svg").CountAsync());
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "audit-grafik");
    }

    [Fact]
    public async Task AnotherRolesPageIsDeniedByTheModuleAndTheDenialIsAudited()
    {
        var (context, page) = await scene.SignInAsync("bank-bri");
        await using var _ = context;
        // The bank's menu offers its own pages only.
        var menu = await page.Locator("nav.menu a").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href'))");
        Assert.Equal(["/", "/kur/verifikasi", "/kur/daftar", "/kur/pendaftaran", "/kur/laporan"], menu);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "beranda");

        // Typed in by hand, another role's page is refused by the module the page calls, as the bank's own call would be.
        var response = await page.GotoAsync("/audit");
        Assert.Equal(403, response!.Status);
        Assert.Equal("Akses ditolak", await page.TextContentAsync("h1"));
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "ditolak");

        using var channel = new VerificationChannel(scene.GrpcAddress, new ChannelSettings { BearerToken = scene.Token("auditor-bpk") });
        var audit = new AuditService.AuditServiceClient(channel);
        var found = false;
        for (var attempt = 0; attempt < 200 && !found; attempt++)
        {
            using var call = audit.Trace(new TraceRequest { MemberCode = "bank-bri", Limit = 100 });
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var item = call.ResponseStream.Current;
                var text = item.Entry.CanonicalBytes.ToStringUtf8();
                found |= item.Entry.EventType == "AccessDenied" && text.Contains("/verification.audit.v1.AuditService/GetTreeHead", StringComparison.Ordinal);
            }
            if (!found) await Task.Delay(50);
        }

        Assert.True(found, "the bank's refused call from the portal is in the audit log");
    }

    [Fact]
    public async Task FormsRefuseForgedPostsAndSignOutEndsTheSessionOnTheServer()
    {
        var (context, page) = await scene.SignInAsync("bank-bri");
        await using var _ = context;
        var response = await page.GotoAsync("/kur/verifikasi");
        var headers = await response!.AllHeadersAsync();
        Assert.Contains("script-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("DENY", headers["x-frame-options"]);
        Assert.Equal("no-store", headers["cache-control"]);
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == "verification-portal");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);

        // A post without the anti-forgery token, as another site's form would send it.
        var forged = await page.APIRequest.PostAsync("/kur/verifikasi", new APIRequestContextOptions { Form = Form(page, ("nik", Nik.New())) });
        Assert.Equal(400, forged.Status);

        // A token from another member's session is no good either: tokens are bound to the session.
        var (otherContext, otherPage) = await scene.SignInAsync("bank-bni");
        await using (otherContext)
        {
            await otherPage.GotoAsync("/kur/verifikasi");
            var stolen = await otherPage.GetAttributeAsync("input[name=__RequestVerificationToken]", "value");
            var replayed = await page.APIRequest.PostAsync("/kur/verifikasi", new APIRequestContextOptions { Form = Form(page, ("nik", Nik.New()), ("__RequestVerificationToken", stolen!)) });
            Assert.Equal(400, replayed.Status);
        }

        await page.ClickAsync("header form button[type=submit]");
        await PortalScene.ArrivedAsync(page, new Regex("/masuk\\?keluar=1$"));
        Assert.Equal("Anda telah keluar.", (await page.TextContentAsync("main p.notice[role=status]"))?.Trim());
        // The old cookie, replayed, finds no session: sign-out ended it on the server, not only in the browser.
        var replay = await Browser().NewContextAsync(new BrowserNewContextOptions { BaseURL = scene.PortalAddress });
        await replay.AddCookiesAsync([new Cookie { Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = "/" }]);
        var replayPage = await replay.NewPageAsync();
        await replayPage.GotoAsync("/kur/verifikasi");
        Assert.Contains("/masuk", replayPage.Url, StringComparison.Ordinal);
        await replay.CloseAsync();
    }

    [Fact]
    public async Task SignInRefusesAnUnknownTokenAndTheInternalServicesToken()
    {
        var context = await Browser().NewContextAsync(new BrowserNewContextOptions { BaseURL = scene.PortalAddress });
        await using var _ = context;
        var page = await context.NewPageAsync();
        await page.GotoAsync("/pegawai");
        Assert.Contains("/masuk?kembali=%2Fpegawai", page.Url, StringComparison.Ordinal);
        await PortalScene.AssertAccessibleAsync(page);
        await PortalScene.ScreenshotAsync(page, "masuk");
        await page.FillAsync("#token", "not-a-token");
        await page.ClickAsync("form.card button[type=submit]");
        Assert.Equal("Token tidak dikenal. Periksa kembali token Anda.", await page.TextContentAsync("#sign-in-error"));
        await page.FillAsync("#token", scene.Token("internal-services"));
        await page.ClickAsync("form.card button[type=submit]");
        Assert.Equal("Token layanan internal tidak dapat digunakan untuk masuk ke portal.", await page.TextContentAsync("#sign-in-error"));
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "verification-portal");
    }

    private IBrowser Browser() => scene.Browser;

    private static IFormData Form(IPage page, params (string Name, string Value)[] fields)
    {
        var form = page.APIRequest.CreateFormData();
        foreach (var (name, value) in fields) form.Set(name, value);
        return form;
    }
}
