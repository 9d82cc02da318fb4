using System.Diagnostics;
using WibCalendar = Verification.Domain.WibCalendar;
using Verification.Api.Membership.V1;
using System.Globalization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Contracts.Events;
using Verification.Kur;
using Verification.Kur.Domain;
using Verification.Membership;
using Verification.Platform.Bus;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;
using ApiProgram = Verification.Api.Common.V1.Program;
using Verification.Api.Channels;

// Usage: Verification.Kur.LoadTest [--postgres ADMIN_CONNSTR] [--rabbitmq AMQP_URI] [--seconds 20] [--levels 1,16,64] [--rate R]
// --rate R: the callers together offer R enrolments/s (each sends on its own schedule, or at once when its last answer
// came after its next slot) instead of sending the next enrolment as soon as the last is answered.
// Without --postgres or --rabbitmq it starts the throwaway servers of Verification.Testing (PostgreSQL there runs with
// fsync off: pass a durable server, as tests/benchmarks/kur-enrol.sh does, for figures worth publishing).
var options = LoadOptions.Parse(args);
Console.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores, load average at start: {LoadAverage()}");

var admin = options.Postgres ?? (await PostgresServer.SharedAsync()).AdminConnectionString;
var rabbit = options.RabbitMq ?? (await RabbitMqBroker.SharedAsync()).AmqpUri.ToString();
if (options.RabbitMq is null && (await RabbitMqBroker.SharedAsync()).ContainerId is { } container) ServerCpu.RabbitMqRoot = await ContainerPidAsync(container);
Console.WriteLine($"   server CPU counted: {ServerCpu.Scope}");
Console.WriteLine(options.Postgres is null ? "PostgreSQL: throwaway (fsync off)" : "PostgreSQL: as given");
var databases = new Dictionary<string, string>();
foreach (var name in new[] { "membership", "kur", "access_membership", "access_kur" }) databases[name] = await CreateDatabaseAsync(admin, name);

var data = Path.Combine(Path.GetTempPath(), "kur-loadtest-" + Guid.NewGuid().ToString("N"));
var common = new[]
{
    "--Verification:Database:Provider=Postgres",
    "--Verification:Bus:Transport=RabbitMq",
    $"--Verification:Bus:RabbitMqUri={rabbit}",
    // 3 Membership calls per enrolment: the default 2,000 calls/s per member would cap KUR near 660 enrolments/s.
    "--Verification:Access:RatePerSecond=1000000",
    "--Verification:Access:Burst=1000000",
};
await using var membership = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/membership", "--Verification:Services=membership",
     $"--Verification:Database:ConnectionStrings:membership={databases["membership"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_membership"]}"]);
var credentials = Path.Combine(data, "membership", "dev-credentials");
await using var kur = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/kur", "--Verification:Services=kur,counter",
     $"--Verification:Database:ConnectionStrings:kur={databases["kur"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_kur"]}",
     // The counter has no database, but every module of a PostgreSQL host must name one.
     "--Verification:Database:ConnectionStrings:counter=Host=127.0.0.1;Database=unused",
     $"--Verification:Endpoints:membership={membership.Address}",
     $"--Verification:Access:MembersFile={Path.Combine(data, "membership", "members.json")}",
     $"--Verification:Internal:TokenFile={Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")}"]);

using var channel = new VerificationChannel(kur.Address, new ChannelSettings
{
    BearerToken = File.ReadAllText(Path.Combine(credentials, "bank-bri.token")).Trim(),
    RetryUnavailable = false,
});
var client = new KurService.KurServiceClient(channel);
var borrowers = new Borrowers();

if (args.Contains("--probe"))
{
    // Where one enrolment's time goes: each hop alone, one call after another.
    using var internalChannel = new VerificationChannel(membership.Address, new ChannelSettings { BearerToken = File.ReadAllText(Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")).Trim(), RetryUnavailable = false });
    var registry = new MembershipService.MembershipServiceClient(internalChannel);
    // --probe --alloc-types: also the sampled allocations of each hop by type (runtime AllocationTick events).
    var byType = args.Contains("--alloc-types");
    async Task Probe(string what, Func<EnrolBorrowerRequest, Task> call)
    {
        var times = new List<double>();
        var cpu = TimeSpan.Zero;
        long allocated = 0;
        using var samples = byType ? new AllocationSamples() : null;
        // More calls when sampling types: AllocationTick fires about once per 100 KB.
        var calls = byType ? 1_010 : 60;
        for (var i = 0; i < calls; i++)
        {
            var request = borrowers.Next();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var started = Stopwatch.GetTimestamp();
            await call(request);
            if (i < 10) continue;
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            allocated += GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {what,-40} p50 {times[times.Count / 2],7:0.0} ms  p90 {times[times.Count * 9 / 10],7:0.0} ms  process CPU {cpu.TotalMilliseconds / times.Count,6:0.0} ms/call  allocated {allocated / 1024.0 / times.Count,7:0.0} KiB/call"));
        if (samples is null) return;
        foreach (var (type, bytes) in samples.Snapshot().OrderByDescending(t => t.Value).Take(8))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      {bytes / 1024.0 / calls,8:0.0} KiB/call sampled  {type}"));
        }
    }

    await Probe("Membership VerifyMembership", async r => await registry.VerifyMembershipAsync(new Verification.Api.Membership.V1.VerifyMembershipRequest { Nik = r.Borrower.Nik }));
    await Probe("Membership QuoteContribution", async r =>
    {
        var quote = new Verification.Api.Membership.V1.QuoteContributionRequest { Segment = Segment.Bpu, MonthlyIncomeRupiah = r.Borrower.DeclaredMonthlyIncomeRupiah };
        quote.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
        await registry.QuoteContributionAsync(quote);
    });
    await Probe("Membership EnrollParticipant", async r =>
    {
        var today = WibCalendar.JakartaToday(TimeProvider.System);
        var enrol = new Verification.Api.Membership.V1.EnrollParticipantRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString(), Nik = r.Borrower.Nik, FullName = r.Borrower.FullName, BirthDate = r.Borrower.BirthDate, Sex = r.Borrower.Sex,
            Segment = Segment.Bpu, Channel = Verification.Api.Membership.V1.EnrolmentChannel.Kur, ChannelReference = "002",
            MonthlyIncomeRupiah = r.Borrower.DeclaredMonthlyIncomeRupiah, StartDate = new Date { Year = today.Year, Month = today.Month, Day = today.Day },
        };
        enrol.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
        await registry.EnrollParticipantAsync(enrol);
    });
    await Probe("KUR GetEnrolment (not found)", async r =>
    {
        try
        {
            await client.GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = r.LoanReference });
        }
        catch (RpcException)
        {
        }
    });
    await Probe("KUR EnrolBorrower (new borrower)", async r => await client.EnrolBorrowerAsync(r));
    return 0;
}

Console.WriteLine("== EnrolBorrower, every borrower new (VerifyMembership, EnrollParticipant answering with the quote, two KUR writes);");
Console.WriteLine("   KUR and Membership are two hosts in this process, each on its own PostgreSQL databases, RabbitMQ between them");
Func<EnrolBorrowerRequest, Task> enrol = async request =>
{
    var response = await client.EnrolBorrowerAsync(request, RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
    if (response.Outcome != EnrolmentOutcome.Enrolled) throw new InvalidOperationException($"Unexpected outcome {response.Outcome}.");
};
if (args.Contains("--membership-only"))
{
    // The same Membership calls KUR makes, straight from the client: what KUR itself adds is the difference.
    var internalChannel = new VerificationChannel(membership.Address, new ChannelSettings { BearerToken = File.ReadAllText(Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")).Trim(), RetryUnavailable = false });
    var registry = new MembershipService.MembershipServiceClient(internalChannel);
    Console.WriteLine("   (--membership-only: VerifyMembership, then EnrollParticipant + QuoteContribution, from the client; no KUR)");
    enrol = async request =>
    {
        await registry.VerifyMembershipAsync(new Verification.Api.Membership.V1.VerifyMembershipRequest { Nik = request.Borrower.Nik });
        var today = WibCalendar.JakartaToday(TimeProvider.System);
        var enrolment = new Verification.Api.Membership.V1.EnrollParticipantRequest
        {
            IdempotencyKey = "kur:002:" + request.LoanReference, Nik = request.Borrower.Nik, FullName = request.Borrower.FullName, BirthDate = request.Borrower.BirthDate,
            Sex = request.Borrower.Sex, Segment = Segment.Bpu, Channel = Verification.Api.Membership.V1.EnrolmentChannel.Kur, ChannelReference = "002",
            MonthlyIncomeRupiah = request.Borrower.DeclaredMonthlyIncomeRupiah, StartDate = new Date { Year = today.Year, Month = today.Month, Day = today.Day },
        };
        enrolment.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
        var quote = new Verification.Api.Membership.V1.QuoteContributionRequest { Segment = Segment.Bpu, MonthlyIncomeRupiah = request.Borrower.DeclaredMonthlyIncomeRupiah };
        quote.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
        await Task.WhenAll(registry.EnrollParticipantAsync(enrolment).ResponseAsync, registry.QuoteContributionAsync(quote).ResponseAsync);
        EventCounter.SkipKur();
    };
}

if (args.Contains("--get-only"))
{
    // The cost of one bank call into KUR that reads one row: the floor under every KUR RPC.
    Console.WriteLine("   (--get-only: GetEnrolment of an unknown loan reference; NOT_FOUND counts as done)");
    enrol = async request =>
    {
        try
        {
            await client.GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
        }

        EventCounter.SkipAll();
    };
}

var warmUp = await LoadLevel.RunAsync(enrol, borrowers, 16, TimeSpan.FromSeconds(3));
Console.WriteLine($"   warm-up: {warmUp.Completed} enrolments, {warmUp.Errors} errors");
Console.WriteLine("   callers  enrolments  seconds  enrolments/s   p50 ms   p99 ms  errors  process CPU ms/enrolment");
long completed = warmUp.Completed;
foreach (var callers in options.Levels)
{
    var result = await LoadLevel.RunAsync(enrol, borrowers, callers, options.Duration, options.Rate);
    completed += result.Completed;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"   {(options.Rate is { } rate ? $"{callers}@{rate:0}/s" : callers.ToString(CultureInfo.InvariantCulture)),7}  {result.Completed,10}  {result.Elapsed.TotalSeconds,7:0.0}  {result.Completed / result.Elapsed.TotalSeconds,12:0}  {result.Percentile(0.50),7:0.0}  {result.Percentile(0.99),7:0.0}  {result.Errors,6}  {result.ProcessCpu.TotalMilliseconds / Math.Max(1, result.Completed),8:0.00}{result.ErrorSummary}"));
    Console.WriteLine($"            {result.GcSummary}");
}

var lastCall = Stopwatch.StartNew();
var expected = completed;
var drained = await EventCounter.WaitForAsync(expected, TimeSpan.FromSeconds(180));
Console.WriteLine($"== events consumed from RabbitMQ (expected {expected} each): KurBorrowerEnrolled {EventCounter.KurEnrolled}, ParticipantEnrolled {EventCounter.ParticipantEnrolled}, CoverageStarted {EventCounter.CoverageStarted}" +
    (drained ? $"; all consumed {lastCall.Elapsed.TotalSeconds:0.0} s after the last call" : "; NOT ALL CONSUMED within 180 s"));
Console.WriteLine($"== load average at end: {LoadAverage()}");
try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}

return drained ? 0 : 1;

// The container's first process as the host sees it, so only this broker's Erlang processes are counted; null if Docker will not say.
static async Task<int?> ContainerPidAsync(string container)
{
    try
    {
        using var docker = Process.Start(new ProcessStartInfo("docker", ["inspect", "-f", "{{.State.Pid}}", container]) { RedirectStandardOutput = true, RedirectStandardError = true });
        if (docker is null) return null;
        var output = await docker.StandardOutput.ReadToEndAsync();
        await docker.WaitForExitAsync();
        return docker.ExitCode == 0 && int.TryParse(output.Trim(), out var pid) && pid > 0 ? pid : null;
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return null;
    }
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static async Task<string> CreateDatabaseAsync(string admin, string prefix)
{
    var name = $"kurload_{prefix}_{Guid.NewGuid():N}"[..40];
    await using (var connection = new NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    return new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 100 }.ConnectionString;
}

/// <summary>The command line.</summary>
internal sealed record LoadOptions(string? Postgres, string? RabbitMq, TimeSpan Duration, int[] Levels, double? Rate)
{
    public static LoadOptions Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new LoadOptions(
            Value("--postgres"),
            Value("--rabbitmq"),
            TimeSpan.FromSeconds(int.Parse(Value("--seconds") ?? "20", CultureInfo.InvariantCulture)),
            (Value("--levels") ?? "1,16,64").Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray(),
            Value("--rate") is { } rate ? double.Parse(rate, CultureInfo.InvariantCulture) : null);
    }
}

/// <summary>Distinct valid borrowers and loans: NIKs of Semarang with varying birth dates and serials.</summary>
internal sealed class Borrowers
{
    private long _next;

    public EnrolBorrowerRequest Next()
    {
        var n = Interlocked.Increment(ref _next);
        var birth = new DateOnly(1970, 1, 1).AddDays((int)(n / 9999 % 10_000));
        var nik = string.Create(CultureInfo.InvariantCulture, $"337401{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}");
        var today = WibCalendar.JakartaToday(TimeProvider.System).AddDays(30);
        return new EnrolBorrowerRequest
        {
            BankCode = "002",
            LoanReference = "LOAD-" + Guid.NewGuid().ToString("N")[..20],
            Scheme = KurScheme.Mikro,
            LoanAmountRupiah = 25_000_000,
            DisbursementDate = new Date { Year = today.Year, Month = today.Month, Day = today.Day },
            Borrower = new Borrower
            {
                Nik = nik,
                FullName = "Peminjam Uji Beban",
                BirthDate = new Date { Year = birth.Year, Month = birth.Month, Day = birth.Day },
                Sex = Sex.Male,
                BusinessSector = "47111",
                RegionCode = "3374",
                DeclaredMonthlyIncomeRupiah = 2_500_000 + (n % 1000 * 1000),
            },
        };
    }
}

/// <summary>One level of load: <c>callers</c> banks' loan systems, each enrolling one borrower after another.</summary>
internal sealed record LoadLevel(long Completed, long Errors, TimeSpan Elapsed, double[] LatenciesMs, string ErrorSummary, TimeSpan ProcessCpu, string GcSummary)
{
    public static async Task<LoadLevel> RunAsync(Func<EnrolBorrowerRequest, Task> enrol, Borrowers borrowers, int callers, TimeSpan duration, double? rate = null)
    {
        var latencies = new List<double>[callers];
        var errors = new Dictionary<StatusCode, long>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var pauseBefore = GC.GetTotalPauseDuration();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var jitBefore = (Methods: System.Runtime.JitInfo.GetCompiledMethodCount(), Time: System.Runtime.JitInfo.GetCompilationTime());
        var serversBefore = ServerCpu.Read();
        var stopwatch = Stopwatch.StartNew();
        var until = duration;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
        {
            var mine = latencies[i] = new List<double>(100_000);
            // Paced: caller i sends at i/rate, then every callers/rate seconds (never two at once).
            var interval = rate is { } r ? TimeSpan.FromSeconds(callers / r) : TimeSpan.Zero;
            var next = rate is { } r0 ? TimeSpan.FromSeconds(i / r0) : TimeSpan.Zero;
            while (stopwatch.Elapsed < until)
            {
                if (interval > TimeSpan.Zero)
                {
                    var wait = next - stopwatch.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait);
                    next += interval;
                    if (stopwatch.Elapsed >= until) break;
                }

                var request = borrowers.Next();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await enrol(request);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (RpcException ex)
                {
                    lock (errors) errors[ex.StatusCode] = errors.GetValueOrDefault(ex.StatusCode) + 1;
                }
            }
        })));
        var elapsed = stopwatch.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var servers = ServerCpu.Read() - serversBefore;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var summary = errors.Count == 0 ? "" : " (" + string.Join(", ", errors.Select(e => $"{e.Key} {e.Value}")) + ")";
        // Where the process's time goes besides work: collections by generation, pause time, bytes allocated per operation.
        var gc = string.Create(CultureInfo.InvariantCulture,
            $"GC gen0/1/2 {GC.CollectionCount(0) - gcBefore[0]}/{GC.CollectionCount(1) - gcBefore[1]}/{GC.CollectionCount(2) - gcBefore[2]}, paused {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:0} ms, {(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / Math.Max(1, all.Length) / 1024.0:0} KiB allocated per operation; "
            + $"JIT {System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore.Methods} methods compiled in {(System.Runtime.JitInfo.GetCompilationTime() - jitBefore.Time).TotalMilliseconds:0} ms; "
            + $"CPU per operation outside this process: PostgreSQL {servers.Postgres.TotalMilliseconds / Math.Max(1, all.Length):0.00} ms, RabbitMQ {servers.RabbitMq.TotalMilliseconds / Math.Max(1, all.Length):0.00} ms");
        return new LoadLevel(all.Length, errors.Values.Sum(), elapsed, all, summary, cpu, gc);
    }

    public double Percentile(double p) => LatenciesMs.Length == 0 ? double.NaN : LatenciesMs[Math.Min(LatenciesMs.Length - 1, (int)(LatenciesMs.Length * p))];
}

/// <summary>Counts the events of every enrolment as a consumer on the bus sees them (distinct event ids: delivery is at least once).</summary>
internal sealed class EventCounter : IConsumer<KurBorrowerEnrolled>, IConsumer<ParticipantEnrolled>, IConsumer<CoverageStarted>
{
    private static readonly HashSet<Guid> Seen = [];
    private static long _kur;
    private static long _participants;
    private static long _coverages;

    public static long KurEnrolled => Interlocked.Read(ref _kur);

    /// <summary>Counts a KurBorrowerEnrolled that a run without KUR never publishes.</summary>
    public static void SkipKur() => Interlocked.Increment(ref _kur);

    /// <summary>Counts the events of a run that publishes none.</summary>
    public static void SkipAll()
    {
        Interlocked.Increment(ref _kur);
        Interlocked.Increment(ref _participants);
        Interlocked.Increment(ref _coverages);
    }

    public static long ParticipantEnrolled => Interlocked.Read(ref _participants);

    public static long CoverageStarted => Interlocked.Read(ref _coverages);

    public Task Consume(ConsumeContext<KurBorrowerEnrolled> context) => Count(context.Message.EventId, ref _kur);

    public Task Consume(ConsumeContext<ParticipantEnrolled> context) => Count(context.Message.EventId, ref _participants);

    public Task Consume(ConsumeContext<CoverageStarted> context) => Count(context.Message.EventId, ref _coverages);

    public static async Task<bool> WaitForAsync(long expected, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (KurEnrolled < expected || ParticipantEnrolled < expected || CoverageStarted < expected)
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

    private static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, KurModule.Module, Counter];

    public string Address { get; } = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";

    public static async Task<ModuleHost> StartAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(["--Verification:Listen:Port=0", .. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
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

/// <summary>
/// CPU time of the benchmark's PostgreSQL and RabbitMQ (Erlang) processes from /proc (Linux; zero elsewhere): the benchmark
/// runs them on the same two cores, so their share per enrolment is part of the cost. Processes that end within a level
/// (a short-lived backend) are not counted; the pooled backends that do the work live for the whole run. On a shared
/// machine other engineers' servers run too: with <c>KUR_BENCH_POSTGRES_PID</c> (the postmaster, set by kur-enrol.sh) and
/// the broker's container known, only those process trees are counted, otherwise every process of those names.
/// </summary>
internal readonly record struct ServerCpu(TimeSpan Postgres, TimeSpan RabbitMq)
{
    // USER_HZ: the unit of utime and stime in /proc/PID/stat, 100 on every Linux build this runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The postmaster and the broker container's first process, when known: the roots of the trees counted.</summary>
    public static int? PostgresRoot { get; set; } = int.TryParse(Environment.GetEnvironmentVariable("KUR_BENCH_POSTGRES_PID"), out var pid) ? pid : null;

    public static int? RabbitMqRoot { get; set; }

    /// <summary>Whether the figures are of this benchmark's servers only, as a line of the report says.</summary>
    public static string Scope => (PostgresRoot is null ? "PostgreSQL: every postgres process" : $"PostgreSQL: the tree of pid {PostgresRoot}")
        + (RabbitMqRoot is null ? ", RabbitMQ: every Erlang process" : $", RabbitMQ: the tree of pid {RabbitMqRoot}");

    public static ServerCpu operator -(ServerCpu after, ServerCpu before) => new(after.Postgres - before.Postgres, after.RabbitMq - before.RabbitMq);

    public static ServerCpu Read()
    {
        if (!OperatingSystem.IsLinux()) return default;
        var processes = new Dictionary<int, (int Parent, string Name, double Ticks)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (IOException)
            {
                continue; // the process ended
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            var open = stat.IndexOf('(');
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open) continue;
            // After "(comm) ": state, ppid, then fields 5..; utime and stime are fields 14 and 15.
            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length < 13) continue;
            var ticks = double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture);
            processes[pid] = (int.Parse(fields[1], CultureInfo.InvariantCulture), stat[(open + 1)..close], ticks);
        }

        double postgres = 0, rabbitMq = 0;
        foreach (var (pid, (_, name, ticks)) in processes)
        {
            if (name.StartsWith("postgres", StringComparison.Ordinal) && (PostgresRoot is not { } pg || Descends(processes, pid, pg))) postgres += ticks;
            else if (name is "beam.smp" or "erl_child_setup" or "epmd" && (RabbitMqRoot is not { } mq || Descends(processes, pid, mq))) rabbitMq += ticks;
        }

        return new ServerCpu(TimeSpan.FromSeconds(postgres / TicksPerSecond), TimeSpan.FromSeconds(rabbitMq / TicksPerSecond));
    }

    private static bool Descends(Dictionary<int, (int Parent, string Name, double Ticks)> processes, int pid, int root)
    {
        for (var current = pid; current > 1; current = processes.TryGetValue(current, out var p) ? p.Parent : 0)
        {
            if (current == root) return true;
        }

        return false;
    }
}
