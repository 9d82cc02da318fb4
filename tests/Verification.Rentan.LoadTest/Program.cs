using System.Diagnostics;
using System.Globalization;
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
using Verification.Platform.Bus;
using Verification.Platform.Hosting;
using Verification.Rentan;
using Verification.Testing;
using WibCalendar = Verification.Domain.WibCalendar;

// Usage: Verification.Rentan.LoadTest [--postgres ADMIN_CONNSTR] [--rabbitmq AMQP_URI] [--rows 100000]
// Without --postgres or --rabbitmq it starts the throwaway servers of Verification.Testing (PostgreSQL there runs with
// fsync off: pass a durable server, as tests/benchmarks/rentan-enrol.sh does, for figures worth publishing).
// One sponsor (the development sponsor-parepare): an extract of N people (deciles 1-4) taken yesterday, a list of the same
// N workers enrolled in one call, then a December extract taken today (a tenth of them richer, decile 6) and the update
// renewing the rest into next year's agreement. Membership's registry holds only what the run enrols.
string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var rowCount = int.Parse(Value("--rows") ?? "100000", CultureInfo.InvariantCulture);
Console.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}, {Environment.ProcessorCount} cores, load average at start: {LoadAverage()}");

var admin = Value("--postgres") ?? (await PostgresServer.SharedAsync()).AdminConnectionString;
var rabbit = Value("--rabbitmq") ?? (await RabbitMqBroker.SharedAsync()).AmqpUri.ToString();
Console.WriteLine(Value("--postgres") is null ? "PostgreSQL: throwaway (fsync off)" : "PostgreSQL: as given");
var databases = new Dictionary<string, string>();
foreach (var name in new[] { "membership", "rentan", "access_membership", "access_rentan" }) databases[name] = await CreateDatabaseAsync(admin, name);

var data = Path.Combine(Path.GetTempPath(), "rentan-loadtest-" + Guid.NewGuid().ToString("N"));
var common = new[]
{
    "--Verification:Database:Provider=Postgres",
    "--Verification:Bus:Transport=RabbitMq",
    $"--Verification:Bus:RabbitMqUri={rabbit}",
    "--Verification:Internal:DefaultDeadline=00:02:00",
    "--Verification:Access:RatePerSecond=100000",
    "--Verification:Access:Burst=100000",
};
await using var membership = await ModuleHost.StartAsync(
    [.. common, $"--Verification:Database:DataDirectory={data}/membership", "--Verification:Services=membership",
     $"--Verification:Database:ConnectionStrings:membership={databases["membership"]}", $"--Verification:Database:ConnectionStrings:access={databases["access_membership"]}"]);
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
        SponsorCode = Sponsor, Year = year, BudgetRupiah = 2 * rowCount * yearlyCost, Programs = { ApiProgram.Jkk, ApiProgram.Jkm },
        StartDate = new Date { Year = year, Month = 1, Day = 1 }, EndDate = new Date { Year = year, Month = 12, Day = 31 },
    });
}

Console.WriteLine($"== {Sponsor}: {rowCount:N0} people; Membership and Rentan are two hosts in this process, each on its own PostgreSQL databases, RabbitMQ between them");
var extract = await TimedAsync(() => UploadAsync(sponsor, rowCount, today.AddDays(-1), december: false));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   UploadExtract: {extract.Value.Accepted:N0} rows kept in {extract.Elapsed.TotalSeconds:0.0} s = {rowCount / extract.Elapsed.TotalSeconds:N0} rows/s"));

var enrol = await TimedAsync(() => EnrolAsync(sponsor, rowCount, $"{Sponsor}-{today.Year}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"   EnrolWorkers: {enrol.Value.Enrolled:N0} enrolled, {enrol.Value.Refused:N0} refused, {enrol.Value.Rejected:N0} rejected of {enrol.Value.Rows:N0} in {enrol.Elapsed.TotalSeconds:0.0} s = {rowCount / enrol.Elapsed.TotalSeconds:N0} rows/s; {enrol.Cpu.TotalMilliseconds * 1000 / rowCount:N0} µs of this process's CPU per row; load average {LoadAverage()}"));

var repeat = await TimedAsync(() => EnrolAsync(sponsor, rowCount, $"{Sponsor}-{today.Year}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   the same list again: {repeat.Value.Unchanged:N0} unchanged in {repeat.Elapsed.TotalSeconds:0.0} s = {rowCount / repeat.Elapsed.TotalSeconds:N0} rows/s"));

var december = await TimedAsync(() => UploadAsync(sponsor, rowCount, today, december: true));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   December extract: {december.Value.Accepted:N0} rows in {december.Elapsed.TotalSeconds:0.0} s"));
var update = await TimedAsync(() => UpdateAsync(sponsor, today.Year));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"   RunAnnualUpdate: {update.Value.Workers:N0} workers re-checked ({update.Value.Renewed:N0} renewed, {update.Value.Ended:N0} ended) in {update.Elapsed.TotalSeconds:0.0} s = {update.Value.Workers / update.Elapsed.TotalSeconds:N0} workers/s; {update.Cpu.TotalMilliseconds * 1000 / update.Value.Workers:N0} µs of this process's CPU per worker; load average {LoadAverage()}"));

var drained = await EventCounter.WaitForAsync(enrol.Value.Enrolled, update.Value.Renewed, update.Value.Ended, TimeSpan.FromSeconds(900));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"== events consumed from RabbitMQ: RentanWorkerEnrolled {EventCounter.Enrolled:N0}, RentanSponsorshipRenewed {EventCounter.Renewed:N0}, RentanSponsorshipEnded {EventCounter.Ended:N0}{(drained ? "" : " (NOT ALL within 900 s)")}"));
Console.WriteLine($"== load average at end: {LoadAverage()}");
try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}

return drained && enrol.Value.Enrolled == rowCount ? 0 : 1;

// The process's CPU (Membership, Rentan, the relays and the client: not PostgreSQL or RabbitMQ) says more than the wall clock on a loaded machine.
static async Task<(T Value, TimeSpan Elapsed, TimeSpan Cpu)> TimedAsync<T>(Func<Task<T>> run)
{
    var process = Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    var value = await run();
    process.Refresh();
    return (value, watch.Elapsed, process.TotalProcessorTime - cpu);
}

static string Nik(int n)
{
    var birth = new DateOnly(1970, 1, 1).AddDays(n / 9999 % 10_000);
    return string.Create(CultureInfo.InvariantCulture, $"737201{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}");
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

static async Task<EnrolWorkersSummary> EnrolAsync(RentanService.RentanServiceClient client, int rows, string agreementId)
{
    using var call = client.EnrolWorkers(RpcCalls.WithTimeout(TimeSpan.FromMinutes(30)));
    var sending = Task.Run(async () =>
    {
        await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = Sponsor, AgreementId = agreementId } });
        for (var n = 0; n < rows; n++)
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
