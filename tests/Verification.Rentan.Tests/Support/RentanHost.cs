using System.Collections.Concurrent;
using System.Text.Json;
using Grpc.Core;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Verification.Api.Channels;
using Verification.Api.Membership.V1;
using Verification.Api.Rentan.V1;
using Verification.Contracts.Events;
using Verification.Membership;
using Verification.Platform.Access;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Rentan.Features;
using Verification.Testing;

namespace Verification.Rentan.Tests.Support;

/// <summary>The events one host's collector consumed.</summary>
public sealed class EventLog
{
    public ConcurrentQueue<RentanSponsorSaved> SponsorSaved { get; } = new();
    public ConcurrentQueue<RentanAgreementSaved> AgreementSaved { get; } = new();
    public ConcurrentQueue<RentanExtractUploaded> ExtractUploaded { get; } = new();
    public ConcurrentQueue<RentanWorkerEnrolled> Enrolled { get; } = new();
    public ConcurrentQueue<RentanEnrolmentRefused> Refused { get; } = new();
    public ConcurrentQueue<RentanSponsorshipRenewed> Renewed { get; } = new();
    public ConcurrentQueue<RentanSponsorshipEnded> Ended { get; } = new();
    public ConcurrentQueue<AccessDenied> Denied { get; } = new();
    public ConcurrentQueue<ParticipantEnrolled> ParticipantEnrolled { get; } = new();

    /// <summary>Waits until <paramref name="condition"/> holds (events arrive through the outbox relay, asynchronously).</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>Collects the events the suite publishes into its host's <see cref="EventLog"/>, as Audit will consume them.</summary>
public sealed class EventCollector(EventLog log) :
    IConsumer<RentanSponsorSaved>, IConsumer<RentanAgreementSaved>, IConsumer<RentanExtractUploaded>, IConsumer<RentanWorkerEnrolled>,
    IConsumer<RentanEnrolmentRefused>, IConsumer<RentanSponsorshipRenewed>, IConsumer<RentanSponsorshipEnded>, IConsumer<AccessDenied>,
    IConsumer<ParticipantEnrolled>
{
    public Task Consume(ConsumeContext<RentanSponsorSaved> context) => Add(log.SponsorSaved, context.Message);

    public Task Consume(ConsumeContext<RentanAgreementSaved> context) => Add(log.AgreementSaved, context.Message);

    public Task Consume(ConsumeContext<RentanExtractUploaded> context) => Add(log.ExtractUploaded, context.Message);

    public Task Consume(ConsumeContext<RentanWorkerEnrolled> context) => Add(log.Enrolled, context.Message);

    public Task Consume(ConsumeContext<RentanEnrolmentRefused> context) => Add(log.Refused, context.Message);

    public Task Consume(ConsumeContext<RentanSponsorshipRenewed> context) => Add(log.Renewed, context.Message);

    public Task Consume(ConsumeContext<RentanSponsorshipEnded> context) => Add(log.Ended, context.Message);

    public Task Consume(ConsumeContext<AccessDenied> context) => Add(log.Denied, context.Message);

    public Task Consume(ConsumeContext<ParticipantEnrolled> context) => Add(log.ParticipantEnrolled, context.Message);

    private static Task Add<T>(ConcurrentQueue<T> queue, T message)
    {
        queue.Enqueue(message);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The real host composition in process on a port of its choosing: Membership, Rentan and an event collector, on SQLite
/// or PostgreSQL with the in-memory bus. The members file is the development one plus test sponsors: <see cref="SponsorCount"/>
/// Parepare sponsors (regency 7372), so each test has budgets of its own, and one sponsor for Bengkulu province (17).
/// </summary>
public sealed class RentanHost : IAsyncDisposable
{
    public const int SponsorCount = 40;

    public const string BengkuluSponsor = "sponsor-bengkulu";

    public static readonly VerificationModule Collector = new("events", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<EventCollector>());

    public static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, RentanModule.Module, Collector];

    private readonly WebApplication _app;
    private readonly List<VerificationChannel> _channels = [];
    private int _nextSponsor;

    private RentanHost(WebApplication app, string dataDirectory, int port)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Port = port;
    }

    public string DataDirectory { get; }

    /// <summary>Left on disk when the host stops, for a second host to start on.</summary>
    public bool KeepDataDirectory { get; set; }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public IServiceProvider Services => _app.Services;

    public EventLog Events => _app.Services.GetRequiredService<EventLog>();

    /// <summary>A test sponsor no other test of this host has used.</summary>
    public string NextSponsorCode()
    {
        var n = Interlocked.Increment(ref _nextSponsor);
        if (n > SponsorCount) throw new InvalidOperationException("Every test sponsor is in use: raise SponsorCount.");
        return SponsorCode(n);
    }

    public static string SponsorCode(int n) => $"sponsor-t{n:00}";

    /// <summary>Starts a host; on <paramref name="dataDirectory"/> a second start finds the first one's members and SQLite files.</summary>
    public static async Task<RentanHost> StartOnAsync(DatabaseProvider provider, Action<IServiceCollection>? services = null, string? dataDirectory = null)
    {
        var data = dataDirectory ?? Path.Combine(Path.GetTempPath(), "verification-rentan-tests-" + Guid.NewGuid().ToString("N"));
        if (!Directory.Exists(Path.Combine(data, "dev-credentials")))
        {
            Directory.CreateDirectory(data);
            AddTestSponsors(data);
        }

        var args = new List<string>
        {
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            "--Verification:Access:RatePerSecond=100000",
            "--Verification:Access:Burst=100000",
            "--Verification:Internal:DefaultDeadline=00:01:00",
            // Small chunks, so a list of a dozen rows already spans several Membership calls.
            "--Verification:Rentan:ChunkSize=4",
            // Claims committed two at a time, so every list of three or more is claimed in parts while earlier parts enrol.
            "--Verification:Rentan:ClaimSegment=2",
        };
        args.AddRange(TestNikKeys.Settings.Select(s => "--" + s));
        if (provider == DatabaseProvider.Postgres)
        {
            var postgres = await PostgresServer.SharedAsync();
            args.Add("--Verification:Database:Provider=Postgres");
            foreach (var module in new[] { "membership", "rentan", "access" })
                args.Add($"--Verification:Database:ConnectionStrings:{module}={await postgres.CreateDatabaseAsync(module)}");
            args.Add("--Verification:Database:ConnectionStrings:events=Host=127.0.0.1;Database=unused");
        }

        var builder = WebApplication.CreateSlimBuilder([.. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost(Catalog);
        builder.Services.AddSingleton<EventLog>();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapVerificationHost(Catalog);
        await app.StartAsync();
        return new RentanHost(app, data, new Uri(app.Urls.First()).Port);
    }

    /// <summary>The development members file, plus the test sponsors with tokens of their own.</summary>
    private static void AddTestSponsors(string data)
    {
        var (membersFile, credentials, _) = DevelopmentMembers.EnsureCreated(data);
        var entries = JsonSerializer.Deserialize<List<MemberEntry>>(File.ReadAllText(membersFile), MemberDirectory.FileJson)!;
        var sponsors = Enumerable.Range(1, SponsorCount).Select(n => (Code: SponsorCode(n), Regions: new List<string> { "7372" }))
            .Append((Code: BengkuluSponsor, Regions: ["17"]));
        foreach (var (code, regions) in sponsors)
        {
            var token = MemberDirectory.NewToken();
            File.WriteAllText(Path.Combine(credentials, code + ".token"), token);
            entries.Add(new MemberEntry { Code = code, Name = $"Test sponsor {code}", Role = MemberRole.Sponsor, RegionCodes = regions, TokenHashes = [MemberDirectory.HashToken(token)] });
        }

        File.WriteAllText(membersFile, JsonSerializer.Serialize(entries, MemberDirectory.FileJson));
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public VerificationChannel Channel(string member)
    {
        var channel = new VerificationChannel(Address, new ChannelSettings { BearerToken = Token(member), RetryUnavailable = false });
        lock (_channels) _channels.Add(channel);
        return channel;
    }

    public RentanService.RentanServiceClient Rentan(string member) => new(Channel(member));

    public RentanService.RentanServiceClient Admin() => Rentan(TestData.Administrator);

    public MembershipService.MembershipServiceClient Membership() => new(Channel(DevelopmentMembers.InternalMember));

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels) channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (KeepDataDirectory) return;
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

/// <summary>One host per database provider, shared by a class's tests; each test takes its own sponsor.</summary>
public class RentanHostsFixture : ProviderHosts<RentanHost>
{
    protected override Task<RentanHost> StartOnAsync(DatabaseProvider provider) => RentanHost.StartOnAsync(provider, Configure);

    protected virtual void Configure(IServiceCollection services)
    {
    }
}

/// <summary>Membership going down (every call UNAVAILABLE before it reaches Membership) between Rentan and Membership.</summary>
public sealed class MembershipFaults
{
    /// <summary>Every call fails with UNAVAILABLE before it reaches Membership.</summary>
    public bool Down { get; set; }

    /// <summary>Enrolment calls that reach Membership before it goes down (null: no limit).</summary>
    private int _enrolmentsBeforeDown = -1;

    /// <summary>Membership answers the next <paramref name="calls"/> enrolment calls, then goes down.</summary>
    public void DownAfterEnrolments(int calls) => Volatile.Write(ref _enrolmentsBeforeDown, calls);

    /// <summary>Coverage-extension calls still answered, once <see cref="DownAfterExtensions"/> set a limit.</summary>
    private int _extensionsLeft;
    private int _extensionLimit;

    /// <summary>
    /// Membership answers exactly the next <paramref name="calls"/> coverage-extension calls (EndCoverages), even when
    /// several are in flight, and is down from the first call beyond them.
    /// </summary>
    public void DownAfterExtensions(int calls)
    {
        Volatile.Write(ref _extensionsLeft, calls);
        Volatile.Write(ref _extensionLimit, 1);
    }

    public void Clear()
    {
        Down = false;
        Volatile.Write(ref _enrolmentsBeforeDown, -1);
        Volatile.Write(ref _extensionLimit, 0);
    }

    internal Task<T> CallAsync<T>(Func<Task<T>> call, bool enrolment = false, bool extension = false)
    {
        if (extension && Volatile.Read(ref _extensionLimit) == 1)
        {
            // Decided per call, so a call within the limit is answered even if a later one already took Membership down.
            if (Interlocked.Decrement(ref _extensionsLeft) >= 0) return call();
            Down = true;
        }

        if (enrolment && Interlocked.Decrement(ref _enrolmentsBeforeDown) == -1) Down = true;
        if (Down) throw new RpcException(new Status(StatusCode.Unavailable, "Membership is down (injected)."));
        return call();
    }
}

/// <summary>The real Membership client behind <see cref="MembershipFaults"/>.</summary>
public sealed class FaultyMembershipRegistry(MembershipRegistry membership, MembershipFaults faults) : IMembershipRegistry
{
    public Task<EnrollParticipantsResponse> EnrolManyAsync(EnrollParticipantsRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.EnrolManyAsync(request, cancellationToken), enrolment: true);

    public Task<EndCoveragesResponse> EndManyAsync(EndCoveragesRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.EndManyAsync(request, cancellationToken), extension: true);

    public Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.QuoteAsync(request, cancellationToken));

    public Task<IReadOnlySet<long>> WageEarnersAsync(IReadOnlyList<long> niks, CancellationToken cancellationToken) =>
        faults.CallAsync(() => membership.WageEarnersAsync(niks, cancellationToken));
}

/// <summary>Both providers' hosts with <see cref="MembershipFaults"/> between Rentan and Membership; every fault off at the start of each test.</summary>
public sealed class MembershipFaultsFixture : RentanHostsFixture
{
    public MembershipFaults Faults(DatabaseProvider provider)
    {
        var faults = On(provider).Services.GetRequiredService<MembershipFaults>();
        faults.Clear();
        return faults;
    }

    protected override void Configure(IServiceCollection services)
    {
        services.AddSingleton<MembershipFaults>();
        services.AddSingleton<MembershipRegistry>();
        services.Replace(ServiceDescriptor.Singleton<IMembershipRegistry, FaultyMembershipRegistry>());
    }
}

