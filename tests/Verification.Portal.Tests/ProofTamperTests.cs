using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Playwright;

namespace Verification.Portal.Tests;

/// <summary>
/// The browser's proof against a log an insider altered: an entry's canonical bytes changed in the database (its stored leaf
/// hash and every signed head left as they were). The page shows what the server now says; the browser's proof must fail.
/// </summary>
public sealed class ProofTamperTests(PortalScene scene) : IClassFixture<PortalScene>
{
    [Fact]
    public async Task TheProofPassesOnTheIntactLogAndFailsOnceAnEntrysBytesWereAltered()
    {
        // Refused calls fill the log with entries whose acting member is bank-bri.
        var (bankContext, bankPage) = await scene.SignInAsync("bank-bri");
        for (var i = 0; i < 3; i++) Assert.Equal(403, (await bankPage.GotoAsync("/audit"))!.Status);
        await bankContext.CloseAsync();

        var index = await ProveNewestDenialAsync("proved");

        await scene.StopHostAsync();
        await using (var connection = new SqliteConnection($"Data Source={scene.AuditDatabase};Pooling=False"))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "DROP TRIGGER IF EXISTS audit_entries_no_update;");
            await using var read = connection.CreateCommand();
            read.CommandText = $"SELECT canonical_bytes FROM audit_entries WHERE entry_index = {index}";
            var text = Encoding.UTF8.GetString((byte[])(await read.ExecuteScalarAsync())!);
            Assert.Contains("\"actingMember\":\"bank-bri\"", text, StringComparison.Ordinal);
            var altered = text.Replace("\"actingMember\":\"bank-bri\"", "\"actingMember\":\"bank-bni\"", StringComparison.Ordinal);
            await ExecuteAsync(connection, $"UPDATE audit_entries SET canonical_bytes = x'{Convert.ToHexString(Encoding.UTF8.GetBytes(altered))}', acting_member = 'bank-bni' WHERE entry_index = {index}");
        }

        await scene.StartHostAsync();
        Assert.Equal(index, await ProveNewestDenialAsync("failed", "bank-bni"));
    }

    /// <summary>Traces the newest AccessDenied entry, proves it in the browser and expects the verdict; returns its index.</summary>
    private async Task<long> ProveNewestDenialAsync(string verdict, string actingMember = "bank-bri")
    {
        var (context, page) = await scene.SignInAsync("auditor-bpk");
        await using var _ = context;
        await page.GotoAsync("/audit");
        await page.SelectOptionAsync("#kunci", "member");
        await page.FillAsync("#nilai", actingMember);
        ILocator entry = page.Locator("#entries li.entry[data-event-type=AccessDenied]").First;
        for (var attempt = 0; attempt < 100 && await page.Locator("#entries li.entry[data-event-type=AccessDenied]").CountAsync() == 0; attempt++)
        {
            await page.ClickAsync("form[role=search] button[type=submit]");
            await page.Locator("#trace-count").WaitForAsync();
        }

        await page.FillAsync("#log-key", scene.PublicKeyPem);
        await page.DispatchEventAsync("#log-key", "change");
        await entry.Locator("button[data-prove]").ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('#entries li.entry[data-event-type=AccessDenied]').dataset.proof !== 'running'");
        Assert.Equal(verdict, await entry.GetAttributeAsync("data-proof"));
        if (verdict == "failed")
        {
            // The root is what gives the alteration away: the bytes shown no longer hash to a leaf of the signed tree.
            var failed = await entry.Locator(".proof-steps li.fail").AllTextContentsAsync();
            Assert.Contains(failed, step => step.StartsWith("4.", StringComparison.Ordinal));
            await PortalScene.ScreenshotAsync(page, "audit-bukti-gagal");
        }

        return long.Parse((await entry.GetAttributeAsync("data-index"))!, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
