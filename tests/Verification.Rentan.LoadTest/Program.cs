using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Api.Common.V1;
using ApiProgram = Verification.Api.Common.V1.Program;
using Verification.Api.Rentan.V1;
using Verification.Contracts.Events;
using Verification.Membership;
using Verification.Membership.Features.Seed;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Hosting;
using Verification.Platform.Privacy;
using Verification.Rentan;
using Verification.Testing;
using WibCalendar = Verification.Domain.WibCalendar;

// Usage: Verification.Rentan.LoadTest [--postgres ADMIN_CONNSTR] [--postgres-pid PID] [--rabbitmq AMQP_URI] [--rows 100000] [--registry N] [--warm-up 5000] [--warm-up-lists 1]
// Arguments --Verification:Key=Value are given to both hosts as configuration.
// --registry N seeds Membership's registry with N synthetic participants first (the workers' NIKs are in a district the
// seed never draws, so they are new people). --postgres-pid (the postmaster's) adds PostgreSQL's CPU to the figures.
// Each step is timed to its answer, then until both outboxes are empty (the relays publishing its events): CPU is
// reported for both, per row, so what the call costs and what its events cost afterwards are told apart.
// Without --postgres or --rabbitmq it starts the throwaway servers of Verification.Testing (PostgreSQL there runs with
// fsync off: pass a durable server, as tests/benchmarks/rentan-enrol.sh does, for figures worth publishing).
// One sponsor (the development sponsor-parepare): an extract of N people (deciles 1-4) taken yesterday, a list of the same
// N workers enrolled in one call, then a December extract taken today (a tenth of them richer, decile 6) and the update
// renewing the rest into next year's agreement. Membership's registry holds only what the run enrols, unless --registry.
// Before the timed list, a warm-up list of W other people of the same extract (--warm-up, 0 for none) is enrolled and
// timed on its own: a running service has compiled its code long before a sponsor's list arrives, a fresh process has not.
// --warm-up-lists K sends the warm-up as K lists: each prints what the JIT still compiled during it, so one can see it settle.
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var rowCount = int.Parse(Value("--rows") ?? "100000", CultureInfo.InvariantCulture);
var warmUpCount = int.Parse(Value("--warm-up") ?? "5000", CultureInfo.InvariantCulture);
var warmUpLists = Math.Max(1, int.Parse(Value("--warm-up-lists") ?? "1", CultureInfo.InvariantCulture));
var people = rowCount + warmUpCount;
var registrySize = long.Parse(Value("--registry") ?? "0", CultureInfo.InvariantCulture);
var postgresPid = Value("--postgres-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : (int?)null;
Console.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores, load average at start: {LoadAverage()}");
GcReasons.Start();
Console.WriteLine($"== GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode}, dynamic adaptation (DATAS) {AppContext.GetData("System.GC.DynamicAdaptationMode") ?? Environment.GetEnvironmentVariable("DOTNET_GCDynamicAdaptationMode") ?? "default"}");
SealingCost.Print();

var admin = Value("--postgres") ?? (await PostgresServer.SharedAsync()).AdminConnectionString;
var rabbit = Value("--rabbitmq") ?? (await RabbitMqBroker.SharedAsync()).AmqpUri.ToString();
Console.WriteLine(Value("--postgres") is null ? "PostgreSQL: throwaway (fsync off)" : "PostgreSQL: as given");
var databases = new Dictionary<string, string>();
foreach (var name in new[] { "membership", "rentan", "access_membership", "access_rentan" }) databases[name] = await CreateDatabaseAsync(admin, name);

var data = Path.Combine(Path.GetTempPath(), "rentan-loadtest-" + Guid.NewGuid().ToString("N"));
string[] common =
[
    "--Verification:Database:Provider=Postgres",
    "--Verification:Bus:Transport=RabbitMq",
    $"--Verification:Bus:RabbitMqUri={rabbit}",
    "--Verification:Internal:DefaultDeadline=00:02:00",
    "--Verification:Access:RatePerSecond=100000",
    "--Verification:Access:Burst=100000",
    // The sponsor's item budget (20,000 rows/s by default) is admission control, not what this measures.
    "--Verification:Access:ItemsPerSecond=10000000",
    "--Verification:Access:ItemBurst=10000000",
    // Any --Verification:… argument goes to both hosts (e.g. --Verification:Rentan:ChunkSize=1000 to compare settings).
    .. args.Where(a => a.StartsWith("--Verification:", StringComparison.Ordinal)),
];
await using var membership = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/membership", "--Verification:Services=membership",
     $"--Verification:Database:ConnectionStrings:membership={databases["membership"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_membership"]}"]);
if (registrySize > 0)
{
    var seeded = await MembershipSeeder.SeedAsync(new ModuleDatabase("membership", DatabaseProvider.Postgres, databases["membership"]),
        new SeedArguments(registrySize, 1, 0.15, null, null), TextWriter.Null, CancellationToken.None);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"== Membership's registry seeded: {seeded.Participants:N0} participants, {seeded.Coverages:N0} coverage rows in {seeded.Elapsed.TotalSeconds:0} s; load average {LoadAverage()}"));
}

var credentials = Path.Combine(data, "membership", "dev-credentials");
await using var rentan = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/rentan", "--Verification:Services=rentan,counter",
     $"--Verification:Database:ConnectionStrings:rentan={databases["rentan"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_rentan"]}",
     "--Verification:Database:ConnectionStrings:counter=Host=127.0.0.1;Database=unused",
     $"--Verification:Endpoints:membership={membership.Address}",
     $"--Verification:Access:MembersFile={Path.Combine(data, "membership", "members.json")}",
     $"--Verification:Internal:TokenFile={Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")}"]);

VerificationChannel Channel(string member) => new(rentan.Address, new ChannelSettings { BearerToken = File.ReadAllText(Path.Combine(credentials, member + ".token")).Trim(), RetryUnavailable = false });
using var adminChannel = Channel("bpjs-admin");
using var sponsorChannel = Channel("sponsor-parepare");
var administrator = new RentanService.RentanServiceClient(adminChannel);
var sponsor = new RentanService.RentanServiceClient(sponsorChannel);
const string Sponsor = "sponsor-parepare";
var today = WibCalendar.JakartaToday(TimeProvider.System);
var yearlyCost = 12 * 16_800L;
await administrator.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = Sponsor, Name = "Pemerintah Kota Parepare (load test)", RegionCodes = { "7372" } });
foreach (var year in new[] { today.Year, today.Year + 1 })
{
    await administrator.SaveAgreementAsync(new SaveAgreementRequest
    {
        SponsorCode = Sponsor, Year = year, BudgetRupiah = 2 * people * yearlyCost, Programs = { ApiProgram.Jkk, ApiProgram.Jkm },
        StartDate = new Date { Year = year, Month = 1, Day = 1 }, EndDate = new Date { Year = year, Month = 12, Day = 31 },
    });
}

Console.WriteLine($"== {Sponsor}: {rowCount:N0} people (and {warmUpCount:N0} for the warm-up); Membership and Rentan are two hosts in this process, each on its own PostgreSQL databases, RabbitMQ between them; registry of {registrySize:N0} seeded participants");
var outboxes = new Outboxes([databases["membership"], databases["rentan"]]);
var meter = new CpuMeter(postgresPid, admin);
await outboxes.DrainAsync();
var extract = await meter.TimedAsync(() => UploadAsync(sponsor, people, today.AddDays(-1), december: false));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   UploadExtract: {extract.Value.Accepted:N0} rows kept in {extract.Elapsed.TotalSeconds:0.0} s = {people / extract.Elapsed.TotalSeconds:N0} rows/s"));
long warmedUp = 0;
for (var list = 0; list < warmUpLists && warmUpCount > 0; list++)
{
    // The warm-up's rows in equal lists, the last taking what is left over.
    var size = list < warmUpLists - 1 ? warmUpCount / warmUpLists : warmUpCount - (warmUpLists - 1) * (warmUpCount / warmUpLists);
    var first = rowCount + list * (warmUpCount / warmUpLists);
    var warmUp = await meter.TimedAsync(() => EnrolAsync(sponsor, size, $"{Sponsor}-{today.Year}", first));
    warmedUp += warmUp.Value.Enrolled;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"   warm-up EnrolWorkers {list + 1} of {warmUpLists} (a fresh process compiling its code): {warmUp.Value.Enrolled:N0} enrolled of {size:N0} in {warmUp.Elapsed.TotalSeconds:0.0} s = {size / warmUp.Elapsed.TotalSeconds:N0} rows/s; {warmUp.Cpu.PerRow(size)}"));
    await DrainedAsync("the warm-up", size);
}

var enrol = await meter.TimedAsync(() => EnrolAsync(sponsor, rowCount, $"{Sponsor}-{today.Year}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"   EnrolWorkers: {enrol.Value.Enrolled:N0} enrolled, {enrol.Value.Refused:N0} refused, {enrol.Value.Rejected:N0} rejected of {enrol.Value.Rows:N0} in {enrol.Elapsed.TotalSeconds:0.0} s = {rowCount / enrol.Elapsed.TotalSeconds:N0} rows/s; {enrol.Cpu.PerRow(rowCount)}; load average {LoadAverage()}"));
await DrainedAsync("EnrolWorkers", rowCount);

var repeat = await meter.TimedAsync(() => EnrolAsync(sponsor, rowCount, $"{Sponsor}-{today.Year}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   the same list again: {repeat.Value.Unchanged:N0} unchanged in {repeat.Elapsed.TotalSeconds:0.0} s = {rowCount / repeat.Elapsed.TotalSeconds:N0} rows/s; {repeat.Cpu.PerRow(rowCount)}"));

var december = await meter.TimedAsync(() => UploadAsync(sponsor, people, today, december: true));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   December extract: {december.Value.Accepted:N0} rows in {december.Elapsed.TotalSeconds:0.0} s"));
var update = await meter.TimedAsync(() => UpdateAsync(sponsor, today.Year));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"   RunAnnualUpdate: {update.Value.Workers:N0} workers re-checked ({update.Value.Renewed:N0} renewed, {update.Value.Ended:N0} ended) in {update.Elapsed.TotalSeconds:0.0} s = {update.Value.Workers / update.Elapsed.TotalSeconds:N0} workers/s; {update.Cpu.PerRow(update.Value.Workers)}; load average {LoadAverage()}"));
await DrainedAsync("RunAnnualUpdate", update.Value.Workers);

var drained = await EventCounter.WaitForAsync(enrol.Value.Enrolled + warmedUp, update.Value.Renewed, update.Value.Ended, TimeSpan.FromSeconds(900));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"== events consumed from RabbitMQ: RentanWorkerEnrolled {EventCounter.Enrolled:N0}, RentanSponsorshipRenewed {EventCounter.Renewed:N0}, RentanSponsorshipEnded {EventCounter.Ended:N0}{(drained ? "" : " (NOT ALL within 900 s)")}"));
Console.WriteLine($"== load average at end: {LoadAverage()}");
lock (GcReasons.Allocated) foreach (var (what, bytes) in GcReasons.Allocated.OrderByDescending(l => l.Value).Take(60)) Console.WriteLine($"   allocated {bytes / 1048576.0,10:N0} MiB {what}");
try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}

return drained && enrol.Value.Enrolled == rowCount && warmedUp == warmUpCount ? 0 : 1;

// After a step: how long its events took to leave both outboxes, and the CPU that cost.
async Task DrainedAsync(string step, long rows)
{
    var drain = await meter.TimedAsync(async () => { await outboxes.DrainAsync(); return 0; });
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"     then its events left the outboxes in {drain.Elapsed.TotalSeconds:0.0} s more; {drain.Cpu.PerRow(rows)} of {step}; load average {LoadAverage()}"));
}

static string Nik(int n)
{
    var birth = new DateOnly(1970, 1, 1).AddDays(n / 9999 % 10_000);
    // District 90: the synthetic registry draws districts 01-30, so a seeded registry never holds these people.
    return string.Create(CultureInfo.InvariantCulture, $"737290{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}");
}

static async Task<ExtractSummary> UploadAsync(RentanService.RentanServiceClient client, int rows, DateOnly date, bool december)
{
    using var call = client.UploadExtract(RpcCalls.WithTimeout(TimeSpan.FromMinutes(30)));
    var sending = Task.Run(async () =>
    {
        await call.RequestStream.WriteAsync(new UploadExtractRequest { Header = new ExtractHeader { SponsorCode = Sponsor, ExtractDate = new Date { Year = date.Year, Month = date.Month, Day = date.Day } } });
        for (var start = 0; start < rows; start += 1000)
        {
            var message = new ExtractRows();
            for (var n = start; n < Math.Min(rows, start + 1000); n++)
            {
                // In December a tenth of the people are richer (decile 6) and end; the rest stay in deciles 1-4.
                var decile = december && n % 10 == 0 ? 6 : 1 + (n % 4);
                message.Rows.Add(new ExtractRow { Nik = Nik(n), HouseholdId = string.Create(CultureInfo.InvariantCulture, $"KK-{n / 3}"), Decile = decile, RegencyCode = "7372", PovertyCategory = PovertyCategory.Poor });
            }

            await call.RequestStream.WriteAsync(new UploadExtractRequest { Rows = message });
        }

        await call.RequestStream.CompleteAsync();
    });
    ExtractSummary? summary = null;
    while (await call.ResponseStream.MoveNext(CancellationToken.None))
        if (call.ResponseStream.Current.Summary is { } s) summary = s;
    await sending;
    return summary ?? throw new InvalidOperationException("No extract summary.");
}

static async Task<EnrolWorkersSummary> EnrolAsync(RentanService.RentanServiceClient client, int rows, string agreementId, int first = 0)
{
    using var call = client.EnrolWorkers(RpcCalls.WithTimeout(TimeSpan.FromMinutes(30)));
    var sending = Task.Run(async () =>
    {
        await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = Sponsor, AgreementId = agreementId } });
        for (var n = first; n < first + rows; n++)
        {
            var birth = new DateOnly(1970, 1, 1).AddDays(n / 9999 % 10_000);
            await call.RequestStream.WriteAsync(new EnrolWorkersRequest
            {
                Row = new WorkerRow { RowId = n.ToString(CultureInfo.InvariantCulture), Nik = Nik(n), FullName = "Pekerja Rentan Uji Beban", BirthDate = new Date { Year = birth.Year, Month = birth.Month, Day = birth.Day }, Sex = Sex.Male },
            });
        }

        await call.RequestStream.CompleteAsync();
    });
    EnrolWorkersSummary? summary = null;
    var errors = new Dictionary<Google.Rpc.Code, int>();
    while (await call.ResponseStream.MoveNext(CancellationToken.None))
    {
        var message = call.ResponseStream.Current;
        if (message.Summary is { } s) summary = s;
        else if (message.Row.Error is { } error) errors[error.Code] = errors.GetValueOrDefault(error.Code) + 1;
    }

    await sending;
    if (errors.Count > 0) Console.WriteLine("   rejected rows by code: " + string.Join(", ", errors.Select(e => $"{e.Key} {e.Value}")));
    return summary ?? throw new InvalidOperationException("No enrolment summary.");
}

static async Task<AnnualUpdateSummary> UpdateAsync(RentanService.RentanServiceClient client, int year)
{
    using var call = client.RunAnnualUpdate(new RunAnnualUpdateRequest { SponsorCode = Sponsor, Year = year }, RpcCalls.WithTimeout(TimeSpan.FromMinutes(30)));
    AnnualUpdateSummary? summary = null;
    while (await call.ResponseStream.MoveNext(CancellationToken.None))
        if (call.ResponseStream.Current.Summary is { } s) summary = s;
    return summary ?? throw new InvalidOperationException("No update summary.");
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static async Task<string> CreateDatabaseAsync(string admin, string prefix)
{
    var name = $"rentanload_{prefix}_{Guid.NewGuid():N}"[..40];
    await using (var connection = new NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    return new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 100 }.ConnectionString;
}

/// <summary>Counts Rentan's events as a consumer on the bus sees them (distinct event ids: delivery is at least once).</summary>
internal sealed class EventCounter : IConsumer<RentanWorkerEnrolled>, IConsumer<RentanSponsorshipRenewed>, IConsumer<RentanSponsorshipEnded>
{
    private static readonly HashSet<Guid> Seen = [];
    private static long _enrolled;
    private static long _renewed;
    private static long _ended;

    public static long Enrolled => Interlocked.Read(ref _enrolled);

    public static long Renewed => Interlocked.Read(ref _renewed);

    public static long Ended => Interlocked.Read(ref _ended);

    public Task Consume(ConsumeContext<RentanWorkerEnrolled> context) => Count(context.Message.EventId, ref _enrolled);

    public Task Consume(ConsumeContext<RentanSponsorshipRenewed> context) => Count(context.Message.EventId, ref _renewed);

    public Task Consume(ConsumeContext<RentanSponsorshipEnded> context) => Count(context.Message.EventId, ref _ended);

    public static async Task<bool> WaitForAsync(long enrolled, long renewed, long ended, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Enrolled < enrolled || Renewed < renewed || Ended < ended)
        {
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(100);
        }

        return true;
    }

    private static Task Count(Guid eventId, ref long counter)
    {
        lock (Seen)
        {
            if (!Seen.Add(eventId)) return Task.CompletedTask;
        }

        Interlocked.Increment(ref counter);
        return Task.CompletedTask;
    }
}

/// <summary>The host composition of verification-host, in process, with the modules a run picks.</summary>
internal sealed class ModuleHost(WebApplication app) : IAsyncDisposable
{
    private static readonly VerificationModule Counter = new("counter", (_, _) => { }, _ => { }, consumers => consumers.AddEventConsumer<EventCounter>());

    private static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, RentanModule.Module, Counter];

    public string Address { get; } = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";

    public static async Task<ModuleHost> StartAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(["--Verification:Listen:Port=0", .. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Each list's own account of where its time went (checks, claims, enrolment).
        builder.Logging.AddFilter("Verification.Rentan.Features.Enrol.WorkerEnrolment", LogLevel.Information);
        builder.AddVerificationHost(Catalog);
        var app = builder.Build();
        app.MapVerificationHost(Catalog);
        await app.StartAsync();
        return new ModuleHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>CPU spent since a point: this process's (Membership, Rentan, relays, counter, client) and PostgreSQL's when its postmaster is known.</summary>
internal readonly record struct CpuSpent(TimeSpan Process, TimeSpan? Postgres, GcSpent Gc, long Checkpoints, JitSpent Jit)
{
    public string PerRow(long rows) => rows == 0 ? "no rows" : string.Create(CultureInfo.InvariantCulture,
        $"CPU per row: {Process.TotalMilliseconds * 1000 / rows:N0} µs this process{(Postgres is { } pg ? $", {pg.TotalMilliseconds * 1000 / rows:N0} µs PostgreSQL" : "")}; PostgreSQL checkpoints {Checkpoints}; {Jit}; {Gc.PerRow(rows)}");
}

/// <summary>The JIT's work over a step (the runtime's own counters): methods compiled, tier-1 promotions included, and the time spent compiling them.</summary>
internal readonly record struct JitSpent(long Methods, TimeSpan Compiling)
{
    public static JitSpent Now() => new(System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());

    public static JitSpent operator -(JitSpent after, JitSpent before) => new(after.Methods - before.Methods, after.Compiling - before.Compiling);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"JIT {Methods:N0} methods compiled in {Compiling.TotalMilliseconds:N0} ms");
}

/// <summary>This process's garbage collections over a step: how many of each generation, how long it was paused, what it allocated.</summary>
internal readonly record struct GcSpent(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long Allocated, Dictionary<string, int> Reasons)
{
    public static GcSpent Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(), GcReasons.Snapshot());

    public static GcSpent operator -(GcSpent after, GcSpent before) =>
        new(after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, after.Paused - before.Paused, after.Allocated - before.Allocated,
            after.Reasons.Select(r => (r.Key, Count: r.Value - before.Reasons.GetValueOrDefault(r.Key))).Where(r => r.Count > 0).ToDictionary(r => r.Key, r => r.Count));

    public string PerRow(long rows) => string.Create(CultureInfo.InvariantCulture,
        $"GC {Gen0:N0}/{Gen1:N0}/{Gen2:N0} (gen 0/1/2) paused {Paused.TotalMilliseconds:N0} ms, {Allocated / 1024.0 / rows:N1} KiB allocated per row (why: {string.Join(", ", Reasons.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}"))})");
}

/// <summary>Counts the runtime's GCStart events by generation and reason, so a step's full collections say what caused them.</summary>
internal sealed class GcReasons : System.Diagnostics.Tracing.EventListener
{
    private static readonly string[] ReasonNames = ["alloc-small", "induced", "low-memory", "empty", "alloc-large", "oos-small", "oos-large", "induced-not-forced", "stress", "low-memory-host", "bgc-tuning", "induced-compacting", "lowmemory-host-blocking", "pm-full", "lowmemory-host-blocking2"];
    private static readonly Dictionary<string, int> Counts = [];
    private static GcReasons? _listener;

    public static void Start() => _listener ??= new GcReasons();

    public static Dictionary<string, int> Snapshot()
    {
        lock (Counts) return new Dictionary<string, int>(Counts);
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(eventSource, Environment.GetEnvironmentVariable("GC_ALLOCATIONS") is null ? System.Diagnostics.Tracing.EventLevel.Informational : System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)1); // GC keyword
    }

    // Bytes allocated by type (sampled every 100 KB by the runtime), "large " when on the large-object heap; only with GC_ALLOCATIONS set.
    public static readonly Dictionary<string, long> Allocated = [];

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && eventData.Payload is not null)
        {
            var names = eventData.PayloadNames!;
            var large = Convert.ToInt32(eventData.Payload[names.IndexOf("AllocationKind")], CultureInfo.InvariantCulture) == 1;
            var typeName = eventData.Payload[names.IndexOf("TypeName")]?.ToString() ?? "?";
            var amount = Convert.ToInt64(eventData.Payload[names.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
            var allocated = large ? $"large {typeName}" : typeName;
            lock (Allocated) Allocated[allocated] = Allocated.GetValueOrDefault(allocated) + amount;
            return;
        }
        if (eventData.EventName != "GCStart_V2" || eventData.Payload is null) return;
        var depth = Convert.ToInt32(eventData.Payload[1], CultureInfo.InvariantCulture);
        var reason = Convert.ToInt32(eventData.Payload[2], CultureInfo.InvariantCulture);
        var type = Convert.ToInt32(eventData.Payload[3], CultureInfo.InvariantCulture);
        var key = $"gen{depth}{(type == 1 ? "-bg" : "")}:{(reason < ReasonNames.Length ? ReasonNames[reason] : reason.ToString(CultureInfo.InvariantCulture))}";
        lock (Counts) Counts[key] = Counts.GetValueOrDefault(key) + 1;
    }
}

/// <summary>Reads this process's CPU and, from /proc, the PostgreSQL server's: the postmaster, its live backends, and the backends it has reaped.</summary>
internal sealed class CpuMeter(int? postgresPid, string postgresConnectionString)
{
    // Checkpoints started during a step: the pages a step first changes after one are written whole to the WAL, so a step that meets one costs PostgreSQL more.
    private async Task<long> CheckpointsAsync()
    {
        await using var connection = new NpgsqlConnection(postgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    public async Task<(T Value, TimeSpan Elapsed, CpuSpent Cpu)> TimedAsync<T>(Func<Task<T>> run)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var postgres = PostgresCpu();
        var checkpoints = await CheckpointsAsync();
        var gc = GcSpent.Now();
        var jit = JitSpent.Now();
        var watch = Stopwatch.StartNew();
        var value = await run();
        process.Refresh();
        return (value, watch.Elapsed, new CpuSpent(process.TotalProcessorTime - cpu, PostgresCpu() - postgres, GcSpent.Now() - gc, await CheckpointsAsync() - checkpoints, JitSpent.Now() - jit));
    }

    private TimeSpan? PostgresCpu()
    {
        if (postgresPid is not { } postmaster) return null;
        double ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // the process ended meanwhile: its time is in the postmaster's reaped children
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // Fields after the command's closing parenthesis: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pid != postmaster && ppid != postmaster) continue;
            ticks += double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            if (pid == postmaster) ticks += double.Parse(fields[13], CultureInfo.InvariantCulture) + double.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}

/// <summary>The modules' outboxes: waits until no event is left unpublished in any of them.</summary>
internal sealed class Outboxes(IReadOnlyList<string> connectionStrings)
{
    public async Task DrainAsync()
    {
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (await PendingAsync() > 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("The outboxes did not drain within 15 minutes.");
            await Task.Delay(200);
        }
    }

    private async Task<long> PendingAsync()
    {
        long pending = 0;
        foreach (var connectionString in connectionStrings)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM outbox_messages WHERE published_at IS NULL", connection);
            pending += (long)(await command.ExecuteScalarAsync())!;
        }

        return pending;
    }
}

/// <summary>What sealing a NIK to the audit key costs on this machine now: with an ephemeral key of its own, and as the sealer does it (one key a minute).</summary>
internal static class SealingCost
{
    public static void Print()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var publicOnly = ECDiffieHellman.Create();
        publicOnly.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        using var sealer = new NikSealer(publicOnly);
        const string Nik = "7372901501700001";
        const int Count = 2_000;
        // Warm-up: JIT and OpenSSL's first use are not the steady state.
        for (var i = 0; i < 100; i++) NikSeal.Seal(Nik, Guid.NewGuid(), publicOnly, sealer.KeyId);
        var alone = Measure(() => { for (var i = 0; i < Count; i++) NikSeal.Seal(Nik, Guid.NewGuid(), publicOnly, sealer.KeyId); });
        var shared = Measure(() => { for (var i = 0; i < Count; i++) sealer.Seal(Nik, Guid.NewGuid()); });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"== sealing a NIK to the audit key, CPU per event: {alone.TotalMilliseconds * 1000 / Count:N1} µs with its own ephemeral key, {shared.TotalMilliseconds * 1000 / Count:N1} µs as NikSealer seals (one key a minute)"));
    }

    private static TimeSpan Measure(Action run)
    {
        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        run();
        process.Refresh();
        return process.TotalProcessorTime - before;
    }
}
