using Verification.Testing;
using System.Diagnostics;
using Verification.Api.Kur.V1;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Audit.V1;
using Verification.Audit.Features.Keys;
using Verification.Audit.Verifier;
using Verification.Contracts.Events;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;
using ApiSignedTreeHead = Verification.Api.Audit.V1.SignedTreeHead;
using Verification.Api.Channels;

namespace Verification.Audit.Tests.Module;

/// <summary>
/// The real host composition with the audit module (and any others) in monolithic mode, in process, on a free port,
/// over a data directory that survives a restart; plus what an auditor's test needs in a line or two.
/// </summary>
/// <example>
/// The KUR end to end test of issue 8 (checked against the KUR module of 2026-11-22; needs a ProjectReference to
/// Verification.Kur), warm-up enrolment aside:
/// <code>
/// await using var host = await AuditTestHost.StartAsync(modules: [MembershipModule.Module, KurModule.Module]);
/// using var call = AuditTestHost.TraceCall(out var traceId);
/// await new KurService.KurServiceClient(host.Channel("bank-bri")).EnrolBorrowerAsync(request);
/// var entry = await host.WaitForEntryAsync(new TraceRequest { Nik = request.Borrower.Nik }, e => e.EventType == "KurBorrowerEnrolled", TimeSpan.FromSeconds(1));
/// Assert.Equal(traceId, entry.TraceId);
/// </code>
/// </example>
public sealed class AuditTestHost : IAsyncDisposable
{
    /// <summary>Settings for fast, deterministic tests: a head after every batch, short polls.</summary>
    public static readonly string[] FastSettings =
    [
        "Verification:Audit:TreeHeadEntries=1",
        "Verification:Audit:TreeHeadInterval=00:00:00.100",
        "Verification:Audit:PollInterval=00:00:00.050",
        // The process's NIK-sealing pair, so events made by the tests (SampleEvents) open here.
        .. TestNikKeys.Settings,
    ];

    private readonly IReadOnlyList<VerificationModule> _modules;
    private readonly string[] _settings;
    private readonly List<VerificationChannel> _channels = [];
#pragma warning disable CA2213 // Stopping takes it out of the field and disposes it (StopAsync), and disposing stops.
    private WebApplication? _app;
#pragma warning restore CA2213

    private AuditTestHost(string dataDirectory, IReadOnlyList<VerificationModule> modules, string[] settings)
    {
        DataDirectory = dataDirectory;
        _modules = modules;
        _settings = settings;
    }

    public string DataDirectory { get; }

    public string Address { get; private set; } = "";

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The host is stopped.");

    /// <summary>The SQLite file of the audit log.</summary>
    public string DatabasePath => Path.Combine(DataDirectory, "audit.db");

    /// <summary>The public key monolithic mode wrote beside the development signing key: what an auditor is given.</summary>
    public string PublicKeyPem => File.ReadAllText(Path.Combine(DataDirectory, "audit", AuditKeys.DevelopmentPublicKeyFile));

    public string SigningKeyPath => Path.Combine(DataDirectory, "audit", AuditKeys.DevelopmentSigningKeyFile);

    public string NikKeyPath => Path.Combine(DataDirectory, "audit", AuditKeys.DevelopmentNikKeyFile);

    /// <summary>Starts a host over <paramref name="dataDirectory"/> (a fresh one when null) with Audit and <paramref name="modules"/>.</summary>
    public static async Task<AuditTestHost> StartAsync(string? dataDirectory = null, IEnumerable<VerificationModule>? modules = null, params string[] settings)
    {
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "verification-audit-tests-" + Guid.NewGuid().ToString("N"));
        var host = new AuditTestHost(data, [.. modules ?? [], AuditModule.Module], [.. FastSettings, .. settings]);
        await host.StartAsync();
        return host;
    }

    /// <summary>Starts the host again over the same data directory (after <see cref="StopAsync"/>).</summary>
    public async Task StartAsync()
    {
        var args = new List<string> { "--Verification:Listen:Port=0", $"--Verification:Database:DataDirectory={DataDirectory}" };
        args.AddRange(_settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder([.. args]);
        builder.AddVerificationHost(_modules);
        var app = builder.Build();
        app.MapVerificationHost(_modules);
        await app.StartAsync();
        _app = app;
        Address = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";
    }

    public async Task StopAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _channels.Clear();
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        _channels.Add(channel);
        return channel;
    }

    /// <summary>An Audit client authenticated as the development auditor.</summary>
    public AuditService.AuditServiceClient Auditor() => new(Channel("auditor-bpk"));

    /// <summary>Publishes events on the host's bus, as a module's outbox relay would.</summary>
    public async Task PublishAsync(params IIntegrationEvent[] events)
    {
        var bus = Services.GetRequiredService<IBus>();
        foreach (var integrationEvent in events)
        {
            await bus.Publish(integrationEvent, integrationEvent.GetType());
        }
    }

    /// <summary>Starts a W3C trace for the calls made while it is current; <paramref name="traceId"/> is what Audit must record.</summary>
    public static Activity TraceCall(out string traceId)
    {
        var activity = new Activity("audit-test-call").SetIdFormat(ActivityIdFormat.W3C).Start();
        traceId = activity.TraceId.ToString();
        return activity;
    }

    /// <summary>Waits until a Trace with <paramref name="request"/> returns an entry matching <paramref name="match"/>.</summary>
    public async Task<AuditEntry> WaitForEntryAsync(TraceRequest request, Func<AuditEntry, bool> match, TimeSpan timeout)
    {
        var auditor = Auditor();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var call = auditor.Trace(request.Clone());
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                if (match(response.Entry))
                {
                    return response.Entry;
                }
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"No matching audit entry within {timeout.TotalMilliseconds} ms.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the latest signed tree head covers exactly <paramref name="size"/> entries; returns it.</summary>
    /// <summary>Waits until the log's own integrity check reports <paramref name="intact"/>; its report.</summary>
    public async Task<Api.Audit.V1.LogIntegrity> WaitForIntegrityAsync(bool intact, TimeSpan? timeout = null)
    {
        var auditor = Auditor();
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (true)
        {
            var integrity = (await auditor.GetTreeHeadAsync(new GetTreeHeadRequest())).Integrity;
            if (integrity is not null && integrity.CheckTime is not null && integrity.Intact == intact) return integrity;
            if (deadline.Elapsed > limit) throw new TimeoutException($"The log's integrity was not reported {(intact ? "intact" : "damaged")} within {limit}.");
            await Task.Delay(50);
        }
    }

    public async Task<ApiSignedTreeHead> WaitForTreeHeadAsync(long size, TimeSpan? timeout = null)
    {
        var auditor = Auditor();
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                var head = (await auditor.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead;
                if (head.TreeSize == size)
                {
                    return head;
                }

                if (head.TreeSize > size)
                {
                    throw new InvalidOperationException($"The log grew past {size} to {head.TreeSize}.");
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // No head signed yet.
            }

            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"No tree head of size {size} within {limit}.");
            }

            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the file a moment longer; the temp folder is cleaned by the OS.
        }
    }
}

/// <summary>Reading the wire's answers as the trust-nobody verifier's types.</summary>
public static class AuditWire
{
    public static Verifier.SignedTreeHead ToVerifier(this ApiSignedTreeHead head) =>
        new(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds((head.Timestamp.Seconds * 1000) + (head.Timestamp.Nanos / 1_000_000)), head.RootHash.Span), head.Signature.Span);

    public static List<byte[]> Hashes(this IEnumerable<Google.Protobuf.ByteString> path) => [.. path.Select(p => p.ToByteArray())];
}
