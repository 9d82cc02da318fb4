using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NpgsqlTypes;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Grpc.Core;
using Verification.Api;
using ApiProgram = Verification.Api.Common.V1.Program;

namespace Verification.LoadTests.Scenarios;

/// <summary>
/// Ministries and local governments (kemnaker: 11000001, 11000002; pemkot-parepare: 73720001) bulk-uploading staff
/// (RegisterEmployees, --rows rows per upload, reading replies while sending); one upload in ten is a re-send of an
/// earlier one, whose rows must all come back UNCHANGED with the same employment and participant. An upload that
/// breaks is sent again whole (idempotent per employer, NIK and contract start).
/// </summary>
public sealed class NonAsnTraffic(Suite suite, LoadOptions options, RpcStats stats, BankCalls calls, int uploaders) : IWorkload
{
    private static readonly (string Member, string[] Employers)[] Agencies = [("kemnaker", ["11000001", "11000002"]), ("pemkot-parepare", ["73720001"])];

    private readonly ConcurrentDictionary<(string Employer, string Nik), (string EmploymentId, string Participant)> registered = new();
    private readonly ConcurrentQueue<string> findings = new();
    private readonly ConcurrentQueue<List<RegisterEmployeesRequest>> sent = new();
    private long rowsAnswered;
    private long rowsResent;
    private long nextNik;

    public string Name => "nonasn";

    public IReadOnlyList<string> Modules => ["nonasn"];

    public IEnumerable<string> Findings => findings;

    /// <summary>The (employer number, NIK) of every employment registered, for the privacy scan's follow-up calls.</summary>
    public IEnumerable<(string Employer, string Nik)> Registered => registered.Keys;

    /// <summary>The agency member that registers staff for <paramref name="employer"/>.</summary>
    public static string MemberOf(string employer) => Agencies.First(a => a.Employers.Contains(employer)).Member;

    public Task SetupAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, uploaders).Select(i => Task.Run(async () =>
        {
            var (member, employers) = Agencies[i % Agencies.Length];
            do
            {
                var upload = Random.Shared.NextDouble() < 0.1 && sent.TryPeek(out var earlier) && earlier[0].EmployerNumber is var e && employers.Contains(e)
                    ? earlier
                    : NewUpload(employers[Random.Shared.Next(employers.Length)]);
                await UploadAsync(member, upload, cancellationToken);
            }
            while (!stopStarting.IsCancellationRequested);
        }, CancellationToken.None)));

    private List<RegisterEmployeesRequest> NewUpload(string employer)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));
        var rows = new List<RegisterEmployeesRequest>(options.Rows);
        for (var i = 0; i < options.Rows; i++)
        {
            var n = Interlocked.Increment(ref nextNik);
            var birth = new DateOnly(1975, 1, 1).AddDays((int)(n / 9999 % 9000));
            var employee = new Employee
            {
                Nik = string.Create(CultureInfo.InvariantCulture, $"737201{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}"),
                FullName = "Pegawai Uji Beban",
                BirthDate = new Date { Year = birth.Year, Month = birth.Month, Day = birth.Day },
                Sex = Sex.Female,
                Position = "Staf Administrasi",
                WorkUnit = "Dinas Uji Beban",
                EmploymentType = EmploymentType.Ppnpn,
                ContractStartDate = new Date { Year = today.Year, Month = today.Month, Day = today.Day },
                ContractEndDate = new Date { Year = today.Year + 1, Month = today.Month, Day = Math.Min(today.Day, 28) },
                MonthlyWageRupiah = 3_000_000 + (n % 100 * 10_000),
            };
            employee.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
            rows.Add(new RegisterEmployeesRequest { RowId = i.ToString(CultureInfo.InvariantCulture), EmployerNumber = employer, Employee = employee });
        }

        return rows;
    }

    private async Task UploadAsync(string member, List<RegisterEmployeesRequest> rows, CancellationToken cancellationToken)
    {
        var client = new NonAsnService.NonAsnServiceClient(suite.Channel("nonasn", member));
        var started = Stopwatch.StartNew();
        var pending = rows;
        // Rows answered UNAVAILABLE (Membership did not answer in time) are sent again in a new upload, as an agency would.
        for (var round = 1; pending.Count > 0; round++)
        {
            List<EmployeeRowResult> results;
            try
            {
                var upload = pending;
                results = await calls.CallAsync("nonasn.RegisterEmployees", async ct =>
                {
                    using var call = client.RegisterEmployees(RpcCalls.WithTimeout(TimeSpan.FromMinutes(5), ct));
                    var reading = Task.Run(async () =>
                    {
                        var answers = new List<EmployeeRowResult>(upload.Count);
                        while (await call.ResponseStream.MoveNext(ct))
                            if (call.ResponseStream.Current.Row is { } row) answers.Add(row);
                        return answers;
                    }, ct);
                    foreach (var row in upload) await call.RequestStream.WriteAsync(row, ct);
                    await call.RequestStream.CompleteAsync();
                    return await reading;
                }, cancellationToken);
            }
            catch (RpcException ex)
            {
                findings.Enqueue($"nonasn: an upload of {pending.Count} rows for {pending[0].EmployerNumber} failed with {ex.StatusCode}");
                return;
            }

            var retry = Record(pending, results, lastRound: round >= 20);
            if (retry.Count > 0)
            {
                Interlocked.Add(ref rowsResent, retry.Count);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }

            pending = retry;
        }

        stats.For($"nonasn.upload of {rows.Count} rows (all answered)").Success(started.Elapsed.TotalMilliseconds);
        sent.Enqueue(rows);
        while (sent.Count > 20) sent.TryDequeue(out _);
    }

    /// <summary>Checks and records the rows' answers; returns the rows to send again (transiently refused).</summary>
    private List<RegisterEmployeesRequest> Record(List<RegisterEmployeesRequest> rows, List<EmployeeRowResult> results, bool lastRound)
    {
        var again = new List<RegisterEmployeesRequest>();
        if (results.Count != rows.Count) findings.Enqueue($"nonasn: {rows.Count} rows sent, {results.Count} row results received");
        foreach (var result in results)
        {
            var row = rows[(int)result.Offset];
            var key = (row.EmployerNumber, row.Employee.Nik);
            if (result.Outcome == RegistrationOutcome.Rejected && !lastRound
                && result.Error?.Code is Google.Rpc.Code.Unavailable or Google.Rpc.Code.DeadlineExceeded or Google.Rpc.Code.ResourceExhausted or Google.Rpc.Code.Aborted)
            {
                again.Add(row);
                continue;
            }

            if (result.Outcome is not (RegistrationOutcome.Registered or RegistrationOutcome.Unchanged))
            {
                findings.Enqueue($"nonasn: row {result.RowId} for {row.EmployerNumber} answered {result.Outcome} ({result.Error?.Code})");
                continue;
            }

            var answer = (result.EmploymentId, result.ParticipantNumber);
            var first = registered.GetOrAdd(key, answer);
            if (first != answer)
                findings.Enqueue($"nonasn: row {result.RowId} for {row.EmployerNumber} answered employment {answer.EmploymentId} participant {answer.ParticipantNumber}, earlier {first.EmploymentId} {first.Participant}");
            Interlocked.Increment(ref rowsAnswered);
        }

        return again;
    }

    public Task AfterLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string Throughput(TimeSpan elapsed) => string.Create(CultureInfo.InvariantCulture,
        $"nonasn: {Interlocked.Read(ref rowsAnswered)} rows answered ({Interlocked.Read(ref rowsAnswered) / elapsed.TotalSeconds:0}/s, re-sent uploads included), {registered.Count} employments, {Interlocked.Read(ref rowsResent)} rows answered UNAVAILABLE and sent again");

    public void AddChecks(BooksCheck books) => books.Extra.Add(async (b, cancellationToken) =>
    {
        var employments = registered.ToList();
        var ids = employments.Select(e => long.Parse(e.Value.Participant[..10], CultureInfo.InvariantCulture)).Distinct().ToArray();
        var participants = (await SuiteProbe.QueryAsync(suite.Databases["membership"], "SELECT id, nik FROM participants WHERE id = ANY(@ids)",
            c => c.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids), cancellationToken) ?? [])
            .ToDictionary(r => (long)r[0]!, r => (long)r[1]!);
        var coverages = (await SuiteProbe.QueryAsync(suite.Databases["membership"],
            "SELECT participant_id, employer_number, count(*) FROM coverages WHERE employer_number IS NOT NULL AND participant_id = ANY(@ids) GROUP BY 1, 2",
            c => c.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids), cancellationToken) ?? [])
            .ToDictionary(r => ((long)r[0]!, (string)r[1]!), r => (long)r[2]!);
        var audited = (await SuiteProbe.QueryAsync(suite.Databases["audit"],
            "SELECT participant_number, count(*) FROM audit_entries WHERE event_type = 'NonAsnEmployeeRegistered' GROUP BY 1", null, cancellationToken) ?? [])
            .ToDictionary(r => (string)r[0]!, r => (long)r[1]!);
        var bad = 0;
        foreach (var ((employer, nik), (_, participant)) in employments)
        {
            var id = long.Parse(participant[..10], CultureInfo.InvariantCulture);
            string? problem = null;
            if (!participants.TryGetValue(id, out var stored)) problem = "does not exist";
            else if (stored.ToString(CultureInfo.InvariantCulture) != nik) problem = "holds another NIK";
            else if (coverages.GetValueOrDefault((id, employer)) != 1) problem = $"has {coverages.GetValueOrDefault((id, employer))} coverages from employer {employer}, not 1";
            else if (audited.GetValueOrDefault(participant) != 1) problem = $"has {audited.GetValueOrDefault(participant)} NonAsnEmployeeRegistered audit entries, not 1";
            if (problem is not null && bad++ < 5) b.Differs($"nonasn: participant {participant} ({employer}) {problem}");
        }

        if (bad > 5) b.Differs($"nonasn: {bad} registrations in all out of balance");
        if (bad == 0 && employments.Count > 0)
            b.Checked($"nonasn: {employments.Count} registrations, each with its participant (the employee's NIK), exactly one coverage from its employer and exactly one NonAsnEmployeeRegistered audit entry");
        if (employments.Count == 0) b.Differs("nonasn: nothing was registered");
    });
}
