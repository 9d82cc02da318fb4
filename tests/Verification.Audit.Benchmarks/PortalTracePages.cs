using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Verification.Audit;
using Verification.Platform.Hosting;
using Verification.Portal;
using Verification.Testing;

/// <summary>
/// The auditor's trace page (/audit, a posted search) over the filled log: the Audit module and the portal in one host on
/// PostgreSQL, an auditor signed in, one page load at a time as a person works, timed from request to last byte.
/// </summary>
internal static partial class PortalTracePages
{
    private static readonly string[] Elsewhere = ["membership", "kur", "prakerja", "nonasn"];

    public static async Task MeasureAsync(PostgresServer server, string auditDatabase, string signingKeyPem, string publishedHeadPath, long treeSize, int pagesPerKind, Func<string> load)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-portal-bench-" + Guid.NewGuid().ToString("N"));
        // The host signs with the key that signed the log's heads, so its own start-up check finds them valid.
        var signingKeyFile = Path.Combine(Path.GetTempPath(), $"portal-bench-signing-{Guid.NewGuid():N}.pem");
        File.WriteAllText(signingKeyFile, signingKeyPem);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(signingKeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var accessDatabase = await server.CreateDatabaseAsync("access_portal_bench");
        var builder = WebApplication.CreateSlimBuilder([
            "--Verification:Services=audit,portal",
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            "--Verification:Database:Provider=Postgres",
            $"--Verification:Database:ConnectionStrings:audit={auditDatabase}",
            $"--Verification:Database:ConnectionStrings:access={accessDatabase}",
            // The trace page calls only Audit; the portal's other modules must have an address, and are never called here.
            .. Elsewhere.Select(m => $"--Verification:Endpoints:{m}=http://127.0.0.1:9"),
            "--Logging:LogLevel:Default=Warning",
            $"--Verification:Audit:SigningKeyPath={signingKeyFile}",
            $"--Verification:Audit:PublishedHeadPath={publishedHeadPath}",
        ]);
        // The other modules are named so their addresses are valid settings; this host runs none of them.
        VerificationModule[] catalog = [AuditModule.Module, PortalModule.Module, .. Elsewhere.Select(m => new VerificationModule(m, (_, _) => { }, _ => { }))];
        builder.AddVerificationHost(catalog);
        await using var app = builder.Build();
        app.MapVerificationHost(catalog);
        await app.StartAsync();
        try
        {
            var portal = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Last().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal);
            using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
            using var http = new HttpClient(handler) { BaseAddress = new Uri(portal), Timeout = TimeSpan.FromSeconds(60) };
            var token = (await File.ReadAllTextAsync(Path.Combine(data, "dev-credentials", "auditor-bpk.token"))).Trim();
            using (var signIn = await http.PostAsync("/masuk", Form(await FormTokenAsync(http, "/masuk"), ("token", token))))
            {
                if (signIn.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException($"Sign-in answered {(int)signIn.StatusCode}.");
            }

            var formToken = await FormTokenAsync(http, "/audit");
            var random = new Random(24);
            // Entry i of the SQL fill: participant 10000000000+i when i % 4 < 3, loan SIKP-i and member 002 when i % 4 == 0, correlation corr-(i/3).
            long Entry(Func<long, bool> fits)
            {
                while (true) if (random.NextInt64(treeSize) is var i && fits(i)) return i;
            }

            var kinds = new (string Name, Func<(string Key, string Value)> Search, bool Hits)[]
            {
                ("participant", () => ("participant", (10_000_000_000 + Entry(i => i % 4 < 3)).ToString(CultureInfo.InvariantCulture)), true),
                ("loan", () => ("loan", "SIKP-" + Entry(i => i % 4 == 0).ToString(CultureInfo.InvariantCulture)), true),
                ("correlation", () => ("correlation", "corr-" + (Entry(_ => true) / 3).ToString(CultureInfo.InvariantCulture)), true),
                ("member 002 (a quarter of the log; the newest 50)", () => ("member", "002"), true),
                ("event KurBorrowerEnrolled (a quarter of the log; the newest 50)", () => ("event", "KurBorrowerEnrolled"), true),
                ("participant never logged", () => ("participant", "99999999999"), false),
            };

            for (var i = 0; i < 50; i++) await LoadAsync(http, formToken, kinds[i % kinds.Length].Search(), expectEntries: null);
            Console.WriteLine($"portal trace page (/audit, POST, one auditor, sequential) on {treeSize:N0} entries; load average {load()}");
            var all = new List<double>();
            foreach (var (name, search, hits) in kinds)
            {
                var samples = new double[pagesPerKind];
                for (var i = 0; i < pagesPerKind; i++)
                {
                    var query = search();
                    var start = Stopwatch.GetTimestamp();
                    await LoadAsync(http, formToken, query, hits);
                    samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                Array.Sort(samples);
                all.AddRange(samples);
                Console.WriteLine($"  {name}: {Percentiles(samples)}; load average {load()}");
            }

            var sorted = all.Order().ToArray();
            Console.WriteLine($"  all kinds: {Percentiles(sorted)}");
        }
        finally
        {
            await app.StopAsync();
            await server.DropDatabaseAsync(accessDatabase);
            Directory.Delete(data, recursive: true);
            File.Delete(signingKeyFile);
        }
    }

    private static string Percentiles(double[] sorted) => string.Create(CultureInfo.InvariantCulture,
        $"p50 {sorted[sorted.Length / 2]:N1} ms, p95 {sorted[(int)(sorted.Length * 0.95)]:N1} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:N1} ms, max {sorted[^1]:N1} ms ({sorted.Length} pages)");

    private static async Task LoadAsync(HttpClient http, string formToken, (string Key, string Value) search, bool? expectEntries)
    {
        using var response = await http.PostAsync("/audit", Form(formToken, ("kunci", search.Key), ("nilai", search.Value)));
        var page = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK || !page.Contains("id=\"trace-count\"", StringComparison.Ordinal))
            throw new InvalidOperationException($"/audit answered {(int)response.StatusCode} for a {search.Key} search.");
        if (expectEntries is { } expected && page.Contains("class=\"entry\"", StringComparison.Ordinal) != expected)
            throw new InvalidOperationException($"A {search.Key} search {(expected ? "found nothing" : "found entries")}: the figures would not be of real traces.");
    }

    private static async Task<string> FormTokenAsync(HttpClient http, string path)
    {
        var page = await http.GetStringAsync(path);
        return AntiforgeryField().Match(page) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException($"{path} has no anti-forgery token.");
    }

    private static FormUrlEncodedContent Form(string formToken, params (string Name, string Value)[] fields) =>
        new([.. fields.Select(f => KeyValuePair.Create(f.Name, f.Value)), KeyValuePair.Create("__RequestVerificationToken", formToken)]);

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
