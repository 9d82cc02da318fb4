using System.Diagnostics;
using WibCalendar = Verification.Domain.WibCalendar;
using Verification.Api;
using System.Globalization;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Npgsql;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Contracts.Events;
using Verification.Membership;
using Verification.NonAsn;
using Verification.Platform.Bus;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Testing;
using ApiProgram = Verification.Api.Common.V1.Program;
using Verification.Api.Channels;

// Usage: Verification.NonAsn.LoadTest [--postgres ADMIN_CONNSTR] [--rabbitmq AMQP_URI] [--rows 100000] [--warm-up 10000] [--repeat]
// Without --postgres or --rabbitmq it starts the throwaway servers of Verification.Testing (PostgreSQL there runs with
// fsync off: pass a durable server, as tests/benchmarks/nonasn-upload.sh does, for figures worth publishing).
// --repeat sends the same upload a second time afterwards (every row UNCHANGED) and times that too.
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var rowCount = int.Parse(Value("--rows") ?? "100000", CultureInfo.InvariantCulture);
Console.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores, load average at start: {LoadAverage()}");

var admin = Value("--postgres") ?? (await PostgresServer.SharedAsync()).AdminConnectionString;
var rabbit = Value("--rabbitmq") ?? (await RabbitMqBroker.SharedAsync()).AmqpUri.ToString();
Console.WriteLine(Value("--postgres") is null ? "PostgreSQL: throwaway (fsync off)" : "PostgreSQL: as given");
var databases = new Dictionary<string, string>();
foreach (var name in new[] { "membership", "nonasn", "access_membership", "access_nonasn" }) databases[name] = await CreateDatabaseAsync(admin, name);

var data = Path.Combine(Path.GetTempPath(), "nonasn-loadtest-" + Guid.NewGuid().ToString("N"));
var common = new[]
{
    "--Verification:Database:Provider=Postgres",
    "--Verification:Bus:Transport=RabbitMq",
    $"--Verification:Bus:RabbitMqUri={rabbit}",
    "--Verification:Internal:DefaultDeadline=00:01:00",
};
await using var membership = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/membership", "--Verification:Services=membership",
     $"--Verification:Database:ConnectionStrings:membership={databases["membership"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_membership"]}"]);
var credentials = Path.Combine(data, "membership", "dev-credentials");
await using var nonAsn = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/nonasn", "--Verification:Services=nonasn,counter",
     $"--Verification:Database:ConnectionStrings:nonasn={databases["nonasn"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_nonasn"]}",
     // The counter has no database, but every module of a PostgreSQL host must name one.
     "--Verification:Database:ConnectionStrings:counter=Host=127.0.0.1;Database=unused",
     $"--Verification:Endpoints:membership={membership.Address}",
     $"--Verification:Access:MembersFile={Path.Combine(data, "membership", "members.json")}",
     $"--Verification:Internal:TokenFile={Path.Combine(credentials, DevelopmentMembers.InternalMember + ".token")}"]);

using var channel = new VerificationChannel(nonAsn.Address, new ChannelSettings
{
    BearerToken = File.ReadAllText(Path.Combine(credentials, "kemnaker.token")).Trim(),
    RetryUnavailable = false,
});
var client = new NonAsnService.NonAsnServiceClient(channel);

Console.WriteLine($"== RegisterEmployees: one upload of {rowCount:N0} new employees (kemnaker, employer 11000001), one client call;");
Console.WriteLine("   Membership and NonAsn are two hosts in this process, each on its own PostgreSQL databases, RabbitMQ between them");
// A server that has been up for a while: the JIT's tier-up (10 % of the process's CPU in a profile of the timed upload
// after a 1,000-row warm-up) and the pools settle on other employees' rows, whose events are consumed before timing.
var warmUpRows = int.Parse(Value("--warm-up") ?? "10000", CultureInfo.InvariantCulture);
var warmUp = await UploadAsync(client, warmUpRows, offset: 10_000_000);
Console.WriteLine($"   warm-up: {warmUp.Summary.Registered} registered in {warmUp.Elapsed.TotalSeconds:0.0} s");
await EventCounter.WaitForAsync(warmUpRows, TimeSpan.FromSeconds(300));
EventCounter.Reset();

var start = Stopwatch.StartNew();
var run = await UploadAsync(client, rowCount, offset: 0);
var uploaded = start.Elapsed;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"   upload: {run.Summary.Rows:N0} rows ({run.Summary.Registered:N0} registered, {run.Summary.Unchanged:N0} unchanged, {run.Summary.Rejected:N0} rejected) in {uploaded.TotalSeconds:0.0} s = {run.Summary.Rows / uploaded.TotalSeconds:N0} rows/s; process CPU {run.Cpu.TotalMilliseconds / Math.Max(1, run.Summary.Rows):0.00} ms/row; {run.Gc}"));
Console.WriteLine($"   load average after the upload: {LoadAverage()}");
var drained = await EventCounter.WaitForAsync(run.Summary.Registered, TimeSpan.FromSeconds(900));
var all = start.Elapsed;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"== events consumed from RabbitMQ (expected {run.Summary.Registered:N0} each): NonAsnEmployeeRegistered {EventCounter.Registered:N0}, ParticipantEnrolled {EventCounter.ParticipantEnrolled:N0}, CoverageStarted {EventCounter.CoverageStarted:N0}")
    + (drained
        ? string.Create(CultureInfo.InvariantCulture, $"; all consumed {(all - uploaded).TotalSeconds:0.0} s after the upload ended: {all.TotalSeconds:0.0} s from first row to last event = {run.Summary.Registered / all.TotalSeconds:N0} rows/s end to end")
        : "; NOT ALL CONSUMED within 900 s"));

if (args.Contains("--repeat"))
{
    var again = await UploadAsync(client, rowCount, offset: 0);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"== the same upload again: {again.Summary.Unchanged:N0} unchanged, {again.Summary.Registered:N0} registered, {again.Summary.Rejected:N0} rejected in {again.Elapsed.TotalSeconds:0.0} s = {again.Summary.Rows / again.Elapsed.TotalSeconds:N0} rows/s"));
}

Console.WriteLine($"== load average at end: {LoadAverage()}");
try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}

return drained && run.Summary.Registered == rowCount ? 0 : 1;

static async Task<UploadRun> UploadAsync(NonAsnService.NonAsnServiceClient client, int rows, int offset)
{
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
    var pauseBefore = GC.GetTotalPauseDuration();
    var watch = Stopwatch.StartNew();
    using var call = client.RegisterEmployees(RpcCalls.WithTimeout(TimeSpan.FromMinutes(30)));
    var sending = Task.Run(async () =>
    {
        for (var i = 0; i < rows; i++) await call.RequestStream.WriteAsync(Employees.Row(offset + i));
        await call.RequestStream.CompleteAsync();
    });
    RegisterEmployeesSummary? summary = null;
    var errors = new Dictionary<Google.Rpc.Code, int>();
    while (await call.ResponseStream.MoveNext(CancellationToken.None))
    {
        var message = call.ResponseStream.Current;
        if (message.ResultCase == RegisterEmployeesResponse.ResultOneofCase.Summary) summary = message.Summary;
        else if (message.Row.Error is { } error) errors[error.Code] = errors.GetValueOrDefault(error.Code) + 1;
    }

    await sending;
    if (errors.Count > 0) Console.WriteLine("   rejected rows by code: " + string.Join(", ", errors.Select(e => $"{e.Key} {e.Value}")));
    var gc = string.Create(CultureInfo.InvariantCulture,
        $"GC gen0/1/2 {GC.CollectionCount(0) - gcBefore[0]}/{GC.CollectionCount(1) - gcBefore[1]}/{GC.CollectionCount(2) - gcBefore[2]}, paused {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:0} ms");
    return new UploadRun(summary ?? throw new InvalidOperationException("No summary."), watch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpuBefore, gc);
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static async Task<string> CreateDatabaseAsync(string admin, string prefix)
{
    var name = $"nonasnload_{prefix}_{Guid.NewGuid():N}"[..40];
    await using (var connection = new NpgsqlConnection(admin))
    {
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    return new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 100 }.ConnectionString;
}

internal sealed record UploadRun(RegisterEmployeesSummary Summary, TimeSpan Elapsed, TimeSpan Cpu, string Gc);

/// <summary>Distinct valid employees: NIKs of Parepare with varying birth dates and serials.</summary>
internal static class Employees
{
    public static RegisterEmployeesRequest Row(int n)
    {
        var birth = new DateOnly(1970, 1, 1).AddDays(n / 9999 % 10_000);
        var nik = string.Create(CultureInfo.InvariantCulture, $"737201{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}");
        var start = WibCalendar.JakartaToday(TimeProvider.System).AddMonths(-1);
        var employee = new Employee
        {
            Nik = nik,
            FullName = "Pegawai Uji Beban",
            BirthDate = new Date { Year = birth.Year, Month = birth.Month, Day = birth.Day },
            Sex = Sex.Male,
            Position = "Staf Pelaksana",
            WorkUnit = "Dinas Uji Beban",
            EmploymentType = (n % 3) switch { 0 => EmploymentType.Ppnpn, 1 => EmploymentType.Honorer, _ => EmploymentType.Contract },
            ContractStartDate = new Date { Year = start.Year, Month = start.Month, Day = start.Day },
            ContractEndDate = new Date { Year = start.Year + 1, Month = start.Month, Day = 1 },
            MonthlyWageRupiah = 3_000_000 + (n % 1000 * 1000),
        };
        employee.Programs.Add(n % 2 == 0 ? [ApiProgram.Jkk, ApiProgram.Jkm] : [ApiProgram.Jkk, ApiProgram.Jkm, ApiProgram.Jht, ApiProgram.Jp]);
        return new RegisterEmployeesRequest { RowId = n.ToString(CultureInfo.InvariantCulture), EmployerNumber = "11000001", Employee = employee };
    }
}

/// <summary>Counts the events of every registration as a consumer on the bus sees them (distinct event ids: delivery is at least once).</summary>
internal sealed class EventCounter : IConsumer<NonAsnEmployeeRegistered>, IConsumer<ParticipantEnrolled>, IConsumer<CoverageStarted>
{
    private static readonly HashSet<Guid> Seen = [];
    private static long _registered;
    private static long _participants;
    private static long _coverages;

    public static long Registered => Interlocked.Read(ref _registered);

    public static long ParticipantEnrolled => Interlocked.Read(ref _participants);

    public static long CoverageStarted => Interlocked.Read(ref _coverages);

    public static void Reset()
    {
        Interlocked.Exchange(ref _registered, 0);
        Interlocked.Exchange(ref _participants, 0);
        Interlocked.Exchange(ref _coverages, 0);
    }

    public Task Consume(ConsumeContext<NonAsnEmployeeRegistered> context) => Count(context.Message.EventId, ref _registered);

    public Task Consume(ConsumeContext<ParticipantEnrolled> context) => Count(context.Message.EventId, ref _participants);

    public Task Consume(ConsumeContext<CoverageStarted> context) => Count(context.Message.EventId, ref _coverages);

    public static async Task<bool> WaitForAsync(long expected, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Registered < expected || ParticipantEnrolled < expected || CoverageStarted < expected)
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

    private static readonly IReadOnlyList<VerificationModule> Catalog = [MembershipModule.Module, NonAsnModule.Module, Counter];

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
