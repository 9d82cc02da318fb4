using System.Net;
using System.Text;
using System.Text.Json;
using Google.Rpc;
using Grpc.Core;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Contracts.Events;
using Verification.Platform.Access;
using Verification.Platform.Bus;
using Verification.Platform.Hosting;

namespace Verification.Host.Tests;

/// <summary>The members file changes under a running host: revocation, expiry, an invalid file and its repair, over real gRPC sockets.</summary>
public class MemberReloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AMemberRemovedFromTheFileIsRefusedOnItsNextCallWithoutARestartAndTheRefusalIsAudited()
    {
        await using var host = await ReloadHost.StartAsync();
        using var bri = host.Channel("bank-bri");
        using var bni = host.Channel("bank-bni");
        var correlation = Guid.NewGuid().ToString("D"); // never 16 digits in a row, which the audit log would mask
        Assert.Equal("bank-bri", (await Call(bri, correlation)).Username);

        // Replaced by rename, as deployment tools and ConfigMaps do.
        await host.RewriteAsync(entries => entries.Where(e => e.Code != "bank-bri"), atomically: true);

        var refused = await Until(async () =>
        {
            try
            {
                await Call(bri, correlation);
                return null;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                return ex;
            }
        });
        // The caller learns no more than an unknown token would.
        Assert.Equal("UNAUTHENTICATED", refused.GetDetail<ErrorInfo>()?.Reason);
        Assert.Equal("bank-bni", (await Call(bni, correlation)).Username);

        var denied = await host.DenialAsync(correlation);
        Assert.Equal("bank-bri", denied.MemberCode);
        Assert.Equal("Bank", denied.Role);
        Assert.Equal("MEMBER_REVOKED", denied.ReasonCode);
        Assert.Equal("/grpc.testing.TestService/UnaryCall", denied.RpcMethod);
    }

    [Fact]
    public async Task AnExpiryInThePastRefusesAtOnceAndOneInTheNearFutureRefusesWhenItComesWithoutAnotherReload()
    {
        var clock = new SettableClock(DateTimeOffset.UtcNow);
        await using var host = await ReloadHost.StartAsync(clock);
        using var bri = host.Channel("bank-bri");
        using var bni = host.Channel("bank-bni");
        var correlation = Guid.NewGuid().ToString("D"); // never 16 digits in a row, which the audit log would mask

        await host.RewriteAsync(entries => entries.Select(e => e.Code switch
        {
            "bank-bri" => With(e, clock.GetUtcNow().AddMinutes(10)),
            "bank-bni" => With(e, clock.GetUtcNow().AddSeconds(-1)),
            _ => e,
        }), atomically: false);

        var expired = await Until(async () =>
        {
            try
            {
                await Call(bni, correlation);
                return null;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                return ex;
            }
        });
        Assert.Equal("UNAUTHENTICATED", expired.GetDetail<ErrorInfo>()?.Reason);
        var bniDenied = await host.DenialAsync(correlation, "bank-bni");
        Assert.Equal("MEMBER_EXPIRED", bniDenied.ReasonCode);

        // The file that expired bank-bni is in force, and bank-bri's expiry has not come yet.
        Assert.Equal("bank-bri", (await Call(bri, correlation)).Username);
        clock.Advance(TimeSpan.FromMinutes(11));
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call(bri, correlation));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        var briDenied = await host.DenialAsync(correlation, "bank-bri");
        Assert.Equal("MEMBER_EXPIRED", briDenied.ReasonCode);
        Assert.Null(host.Services.GetRequiredService<MemberDirectory>().FindByCode("bank-bri"));
    }

    [Fact]
    public async Task AnInvalidFileKeepsTheLastGoodOneAndHealthSaysSoUntilAFixedFileIsLoaded()
    {
        await using var host = await ReloadHost.StartAsync();
        using var bni = host.Channel("bank-bni");
        var correlation = Guid.NewGuid().ToString("D"); // never 16 digits in a row, which the audit log would mask
        Assert.Equal("Healthy", (await host.HealthAsync()).Status);
        var hashes = MemberDirectory.Parse(await File.ReadAllBytesAsync(host.MembersFile)).SelectMany(e => e.TokenHashes).ToList();

        // Two entries with one code, and bank-bni gone: none of it may take effect.
        await host.RewriteAsync(entries => entries.Where(e => e.Code != "bank-bni").Append(entries.First(e => e.Code == "kemnaker")), atomically: true);
        var degraded = await Until(async () => await host.HealthAsync() is { Status: "Degraded" } report ? report : null);
        var description = degraded.Checks[MembersFileHealthCheck.Name].Description;
        Assert.StartsWith("members file invalid since ", description);
        Assert.Contains("repeats the code of entry", description);
        Assert.DoesNotContain(hashes, description.Contains);
        Assert.Equal("bank-bni", (await Call(bni, correlation)).Username);

        // Still invalid, for another reason: the time it became invalid stays.
        var since = description["members file invalid since ".Length..description.IndexOf(": ", StringComparison.Ordinal)];
        await File.WriteAllTextAsync(host.MembersFile, "[{\"code\": \"bank-bri\", \"role\": \"Bank\", \"tokenHashes\": [\"" + hashes[0] + "\"");
        var malformed = await Until(async () =>
            await host.HealthAsync() is var report && report.Checks[MembersFileHealthCheck.Name].Description.Contains("not a JSON array") ? report : null);
        Assert.Equal("Degraded", malformed.Status);
        Assert.StartsWith($"members file invalid since {since}: ", malformed.Checks[MembersFileHealthCheck.Name].Description);
        Assert.DoesNotContain(hashes, malformed.Checks[MembersFileHealthCheck.Name].Description.Contains);
        Assert.Equal("bank-bni", (await Call(bni, correlation)).Username);

        // Fixed: the valid file (without bank-bni) is in force and health recovers.
        await host.RewriteAsync(_ => host.StartupEntries.Where(e => e.Code != "bank-bni"), atomically: true);
        var healthy = await Until(async () => await host.HealthAsync() is { Status: "Healthy" } report ? report : null);
        Assert.StartsWith("members file loaded at ", healthy.Checks[MembersFileHealthCheck.Name].Description);
        var ex = await Assert.ThrowsAsync<RpcException>(() => Call(bni, correlation));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Equal("MEMBER_REVOKED", (await host.DenialAsync(correlation, "bank-bni")).ReasonCode);
    }

    [Fact]
    public async Task AMemberWhoseTokenIsReplacedIsRefusedWithTheOldTokenAndAdmittedWithTheNewOne()
    {
        await using var host = await ReloadHost.StartAsync();
        using var old = host.Channel("bank-bri");
        var correlation = Guid.NewGuid().ToString("D"); // never 16 digits in a row, which the audit log would mask
        var token = MemberDirectory.NewToken();
        await host.RewriteAsync(entries => entries.Select(e => e.Code == "bank-bri" ? WithToken(e, token) : e), atomically: true);

        await Until(async () =>
        {
            try
            {
                await Call(old, correlation);
                return null;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                return ex;
            }
        });
        Assert.Equal("CREDENTIAL_REVOKED", (await host.DenialAsync(correlation, "bank-bri")).ReasonCode);
        using var renewed = new VerificationChannel(host.Address, new ChannelSettings { BearerToken = token, RetryUnavailable = false });
        Assert.Equal("bank-bri", (await Call(renewed, correlation)).Username);
    }

    private static MemberEntry With(MemberEntry entry, DateTimeOffset expiresAt)
    {
        var copy = Copy(entry);
        copy.ExpiresAt = expiresAt;
        return copy;
    }

    private static MemberEntry WithToken(MemberEntry entry, string token)
    {
        var copy = Copy(entry);
        copy.TokenHashes = [MemberDirectory.HashToken(token)];
        return copy;
    }

    private static MemberEntry Copy(MemberEntry entry) =>
        JsonSerializer.Deserialize<MemberEntry>(JsonSerializer.Serialize(entry, MemberDirectory.FileJson), MemberDirectory.FileJson)!;

    private static async Task<SimpleResponse> Call(VerificationChannel channel, string correlation) =>
        await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest(),
            new CallOptions(new Metadata { { "x-correlation-id", correlation } }, DateTime.UtcNow.AddSeconds(10)));

    /// <summary>Polls until <paramref name="probe"/> answers, within <see cref="Bound"/>: the reload is noticed by a watcher or the 1 s check.</summary>
    private static async Task<T> Until<T>(Func<Task<T?>> probe) where T : class
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            if (await probe() is { } answer) return answer;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The condition did not hold within {Bound}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>A clock the test moves: expiry is judged against the host's TimeProvider.</summary>
public sealed class SettableClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>The real host (monolithic, SQLite, in-process bus) with the probe service, checking its members file every second.</summary>
public sealed class ReloadHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ReloadHost(WebApplication app, string dataDirectory, string address)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = address;
        StartupEntries = MemberDirectory.Parse(File.ReadAllBytes(MembersFile));
    }

    public string DataDirectory { get; }

    public string Address { get; }

    public string MembersFile => Path.Combine(DataDirectory, "members.json");

    public IReadOnlyList<MemberEntry> StartupEntries { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ReloadHost> StartAsync(TimeProvider? clock = null)
    {
        var module = new VerificationModule(
            "probe",
            (builder, _) =>
            {
                if (clock is not null) builder.Services.AddSingleton(clock);
            },
            app => app.MapGrpcService<BankOnlyTestService>(),
            consumers => consumers.AddEventConsumer<AccessDeniedCollector>());
        var data = Path.Combine(Path.GetTempPath(), "verification-reload-tests-" + Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0", "--Verification:Listen:RestPort=", $"--Verification:Database:DataDirectory={data}",
            "--Verification:Access:MembersFileCheckInterval=00:00:01",
        ]);
        builder.AddVerificationHost([module]);
        var app = builder.Build();
        app.MapVerificationHost([module]);
        await app.StartAsync();
        return new ReloadHost(app, data, $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}");
    }

    public VerificationChannel Channel(string member) => new(Address, new ChannelSettings
    {
        BearerToken = File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim(),
        RetryUnavailable = false,
    });

    /// <summary>Writes the members file from the one in force at start, in place or by renaming a finished copy over it.</summary>
    public async Task RewriteAsync(Func<IReadOnlyList<MemberEntry>, IEnumerable<MemberEntry>> change, bool atomically)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(change(StartupEntries).ToList(), MemberDirectory.FileJson);
        if (!atomically)
        {
            await File.WriteAllBytesAsync(MembersFile, json);
            return;
        }
        var staged = MembersFile + ".new";
        await File.WriteAllBytesAsync(staged, json);
        File.Move(staged, MembersFile, overwrite: true);
    }

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    /// <summary>The AccessDenied event published for this test's calls (by correlation id), waited for within a bound.</summary>
    public async Task<AccessDenied> DenialAsync(string correlation, string? member = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var denied = AccessDeniedCollector.Received.LastOrDefault(e => e.CorrelationId.EndsWith("/" + correlation, StringComparison.Ordinal) && (member is null || e.MemberCode == member));
            if (denied is not null) return denied;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No AccessDenied for correlation {correlation} within 30 s.");
            await Task.Delay(50);
        }
    }

    /// <summary>GET /health over HTTP/2 on the gRPC port (h2c needs prior knowledge).</summary>
    public async Task<HealthReportBody> HealthAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri(Address), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http.GetAsync(HostHealthReport.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        return JsonSerializer.Deserialize<HealthReportBody>(body, WebJson)
            ?? throw new InvalidOperationException("Empty health report: " + Encoding.UTF8.GetByteCount(body) + " bytes");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }
}

public sealed record HealthReportBody(string Status, Dictionary<string, HealthCheckBody> Checks);

public sealed record HealthCheckBody(string Status, string Description);
