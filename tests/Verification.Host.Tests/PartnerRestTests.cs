using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Contracts.Events;
using Verification.Platform.Bus;
using Verification.Platform.Hosting;

namespace Verification.Host.Tests;

/// <summary>The REST/JSON door, called with HttpClient over HTTP/1.1 as a bank's or a ministry's integration team would.</summary>
public sealed class PartnerRestTests : IAsyncLifetime
{
    private static readonly VerificationModule DenialWatch = new("denial-watch", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<AccessDeniedCollector>());

    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("verification-rest-");
    private WebApplication? _app;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0",
            "--Verification:Listen:RestPort=0",
            $"--Verification:Database:DataDirectory={_data.FullName}",
            "--Verification:Access:RatePerSecond=20",
            "--Verification:Access:Burst=20",
        ]);
        IReadOnlyList<VerificationModule> modules = [.. ModuleCatalog.All, DenialWatch];
        builder.AddVerificationHost(modules);
        _app = builder.Build();
        _app.MapVerificationHost(modules);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = PartnerRest.RestAddress(_app.Services) ?? throw new InvalidOperationException("no REST port") };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private string Token(string member) => File.ReadAllText(Path.Combine(_data.FullName, "dev-credentials", member + ".token")).Trim();

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? member, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (member is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(member));
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        Assert.Equal(new Version(1, 1), response.Version);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>A server stream over REST: one JSON object per message, each on its own line.</summary>
    private async Task<(HttpStatusCode Status, List<JsonElement> Messages)> StreamAsync(string path, string member, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(member));
        using var response = await _http.SendAsync(request);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (response.StatusCode, lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList());
    }

    private static object Enrolment(string loan, string nik, string bankCode = "002") => new
    {
        bankCode,
        loanReference = loan,
        scheme = "KUR_SCHEME_MIKRO",
        loanAmountRupiah = "50000000",
        disbursementDate = new { year = DateTime.UtcNow.AddDays(30).Year, month = DateTime.UtcNow.AddDays(30).Month, day = DateTime.UtcNow.AddDays(30).Day },
        borrower = new
        {
            nik,
            fullName = "Siti Rahayu",
            birthDate = new { year = 1990, month = 1, day = 15 },
            sex = "SEX_MALE",
            businessSector = "47111",
            regionCode = "3374",
            declaredMonthlyIncomeRupiah = "3000000",
        },
    };

    private static string NewNik() => "337401150190" + Random.Shared.Next(1000, 9999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ABankEnrolsGetsAndListsABorrowerInJson()
    {
        var loan = "SIKP-REST-" + Guid.NewGuid().ToString("N")[..10];
        var nik = NewNik();
        var (status, enrolled) = await SendAsync(HttpMethod.Post, "/v1/kur/enrolments", "bank-bri", Enrolment(loan, nik));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ENROLMENT_OUTCOME_ENROLLED", enrolled.GetProperty("outcome").GetString());
        var participant = enrolled.GetProperty("participantNumber").GetString();
        Assert.Matches("^[0-9]{11}$", participant);

        var (got, record) = await SendAsync(HttpMethod.Get, $"/v1/kur/enrolments/{loan}", "bank-bri");
        Assert.Equal(HttpStatusCode.OK, got);
        Assert.Equal(participant, record.GetProperty("enrolment").GetProperty("participantNumber").GetString());
        Assert.Equal(nik[..4] + "••••••••" + nik[^4..], record.GetProperty("enrolment").GetProperty("maskedNik").GetString());

        var today = DateTime.UtcNow.AddHours(7);
        var (listed, list) = await StreamAsync("/v1/kur/enrolments:list", "bank-bri", new
        {
            createDateRange = new { startDate = new { year = today.Year, month = today.Month, day = 1 }, endDate = new { year = today.Year, month = today.Month, day = today.Day } },
        });
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Contains(list, e => e.GetProperty("enrolment").GetProperty("loanReference").GetString() == loan);

        var (verified, answer) = await SendAsync(HttpMethod.Post, "/v1/membership:verify", "bank-bri", new { nik });
        Assert.Equal(HttpStatusCode.OK, verified);
        Assert.True(answer.GetProperty("covered").GetBoolean());
    }

    [Fact]
    public async Task ABadRequestIs400WithAGoogleRpcStatusNamingTheFieldAndWritesNothing()
    {
        var loan = "SIKP-REST-" + Guid.NewGuid().ToString("N")[..10];
        var (status, error) = await SendAsync(HttpMethod.Post, "/v1/kur/enrolments", "bank-bri", Enrolment(loan, "33740115019"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(3, error.GetProperty("code").GetInt32());
        var detail = Assert.Single(error.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", detail.GetProperty("@type").GetString());
        Assert.Contains(detail.GetProperty("fieldViolations").EnumerateArray(), v => v.GetProperty("field").GetString() == "borrower.nik");

        var (notFound, _) = await SendAsync(HttpMethod.Get, $"/v1/kur/enrolments/{loan}", "bank-bri");
        Assert.Equal(HttpStatusCode.NotFound, notFound);
    }

    [Fact]
    public async Task ADeniedCallIs403AndAuditedAndAnAnonymousOneIs401()
    {
        var loan = "SIKP-REST-" + Guid.NewGuid().ToString("N")[..10];
        var (denied, error) = await SendAsync(HttpMethod.Post, "/v1/kur/enrolments", "bank-bri", Enrolment(loan, NewNik(), bankCode: "009"));
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal(7, error.GetProperty("code").GetInt32());
        Assert.Contains(error.GetProperty("details").EnumerateArray(), d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
        for (var i = 0; i < 200 && !AccessDeniedCollector.Received.Any(e => e.MemberCode == "bank-bri" && e.RpcMethod == "/verification.kur.v1.KurService/EnrolBorrower"); i++)
            await Task.Delay(50);
        Assert.Contains(AccessDeniedCollector.Received, e => e.MemberCode == "bank-bri" && e.RpcMethod == "/verification.kur.v1.KurService/EnrolBorrower");

        var (anonymous, unauthenticated) = await SendAsync(HttpMethod.Post, "/v1/membership:verify", member: null, new { nik = NewNik() });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Equal(16, unauthenticated.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task TheMembersRateLimitAppliesToRestAsToGrpcWithRetryInfo()
    {
        HttpStatusCode status = HttpStatusCode.OK;
        JsonElement body = default;
        for (var i = 0; i < 200 && status != HttpStatusCode.TooManyRequests; i++)
            (status, body) = await SendAsync(HttpMethod.Post, "/v1/membership:verify", "pemkot-parepare", new { nik = NewNik() });
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(8, body.GetProperty("code").GetInt32());
        Assert.Contains(body.GetProperty("details").EnumerateArray(), d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.RetryInfo");
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesThePartnerMethodsForSignedInMembersOnly()
    {
        using (var anonymous = await _http.GetAsync(PartnerRest.DocumentPath))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var (status, document) = await SendAsync(HttpMethod.Get, PartnerRest.DocumentPath, "kemnaker");
        Assert.Equal(HttpStatusCode.OK, status);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[] { "/v1/membership:verify", "/v1/kur/enrolments", "/v1/kur/enrolments/{loanReference}", "/v1/kur/enrolments/{loanReference}:cancel",
                     "/v1/nonasn/employers/{employerNumber}/employees", "/v1/nonasn/employers/{employerNumber}/statement", "/v1/prakerja/batches/{batchId}",
                     "/v1/prakerja/batches/{batchId}/results", "/v1/audit:trace", "/v1/audit/inclusion-proof", "/v1/audit/consistency-proof" })
            Assert.Contains(expected, paths);
        // Internal-only methods have no REST route.
        Assert.DoesNotContain(paths, p => p.Contains("enrol-participant", StringComparison.OrdinalIgnoreCase) || p.Contains("coverage:end", StringComparison.Ordinal));
        // No NIK goes into a URL: the methods that take one are POSTs with a body.
        Assert.False(document.GetProperty("paths").GetProperty("/v1/membership:verify").TryGetProperty("get", out _));
    }
}
