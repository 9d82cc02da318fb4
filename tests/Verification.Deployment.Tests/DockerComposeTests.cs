using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using Npgsql;
using Verification.Api;
using Verification.Api.Kur.V1;
using Verification.Api.Prakerja.V1;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Verification.LoadTests.Scenarios;
using Verification.Platform.Data;
using Verification.Platform.Leases;
using Xunit.Abstractions;

namespace Verification.Deployment.Tests;

/// <summary>
/// The microservices deployment run for real: docker-compose.yml up (images from deploy/build-images.sh), both replicas of
/// every module SERVING, then partners through the published ports only — two banks enrolling KUR borrowers through both
/// KUR replicas while one replica of each module is SIGKILLed in turn (for Audit the log's writer), a ministry's non-ASN
/// upload and the Prakerja PMO's batch with the command-line client on the survivors, an auditor's <c>audit verify</c> —
/// and the books: every loan answered and recorded, every enrolment with its events in the audit log, every event any
/// module wrote in the log exactly once at consecutive indexes, no message in an error or skipped queue. Then the killed
/// containers start again and serve. Small on purpose: it runs in every test run.
/// </summary>
public sealed class DockerComposeTests(ITestOutputHelper output)
{
    private const int LoansPerBank = 24;
    private const int LoansBetweenKills = 4;

    /// <summary>The job lease the audit log's writer holds (Verification.Audit's AppendSession.WriterJob).</summary>
    private const string AuditWriterJob = "audit-log-writer";

    private static readonly (string Member, string BankCode)[] Banks = [("bank-bri", "002"), ("bank-bni", "009")];

    /// <summary>Which calls must reach both replicas before one is killed: the banks' (round robin) and KUR's to Membership (dns:///).</summary>
    private static readonly Dictionary<string, string> CallsSpread = new(StringComparer.Ordinal)
    {
        ["kur"] = "/verification.kur.v1.KurService/EnrolBorrower",
        ["membership"] = "/verification.membership.v1.MembershipService/",
    };

    /// <summary>One replica of each module is killed, in this order, during the banks' load.</summary>
    private static readonly string[] KillOrder = ["kur", "membership", "audit", "prakerja", "nonasn", "rentan"];

    [Fact]
    public async Task TheComposeDeploymentServesPartnersWhileOneReplicaOfEachModuleIsKilledMidLoadAndKeepsItsBooks()
    {
        // Fourteen containers on a shared machine: a hang guard, not a speed check.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        var ct = timeout.Token;
        var clock = Stopwatch.StartNew();
        void Say(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {what}");

        await using var deployment = await ComposeDeployment.UpAsync(output, ct);
        try
        {
            var killed = new List<string>();
            var ledger = await EnrolWhileOneReplicaOfEachModuleIsKilledAsync(deployment, killed, Say, ct);
            // The CLI talks to one address: the replicas that were not killed.
            await UploadNonAsnStaffAsync(deployment, Survivor("nonasn", killed), Say, ct);
            await CrossCheckPrakerjaBatchAsync(deployment, Survivor("prakerja", killed), Say, ct);
            await CheckBooksAsync(deployment, ledger, Say, ct);
            await VerifyTheAuditLogAsAnAuditorAsync(deployment, ledger, Survivor("audit", killed), Say, ct);
            await SignInToThePortalAsABankAsync(deployment, Say, ct);
            var serving = await deployment.StartAsync(killed, ct);
            Say($"the {killed.Count} killed containers started again, all SERVING within {serving.TotalSeconds:0.0} s ({string.Join(", ", killed)})");
        }
        catch
        {
            foreach (var service in ComposeDeployment.ModuleServices.Append("portal").Append("postgres").Append("rabbitmq"))
            {
                output.WriteLine($"--- {service}:\n{await deployment.LogsAsync(service, CancellationToken.None)}");
            }

            throw;
        }
    }

    /// <summary>
    /// The portal's own container as a bank's browser would use it, over plain HTTP forms: sign in with the member's token,
    /// then a NIK verified through the portal, which calls Membership's container as that bank.
    /// </summary>
    private static async Task SignInToThePortalAsABankAsync(ComposeDeployment deployment, Action<string> say, CancellationToken ct)
    {
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(deployment.PortalAddress), Timeout = TimeSpan.FromSeconds(30) };
        async Task<string> FormTokenAsync(string path)
        {
            var page = await http.GetStringAsync(path, ct);
            var match = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"");
            Assert.True(match.Success, $"{path} carries no anti-forgery token");
            return match.Groups[1].Value;
        }

        using var signIn = await http.PostAsync("/masuk", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = File.ReadAllText(deployment.TokenFile("bank-bri")).Trim(),
            ["__RequestVerificationToken"] = await FormTokenAsync("/masuk"),
        }), ct);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/", signIn.Headers.Location?.OriginalString);

        // A NIK outside the load's (its borrowers are 337401…, numbered from 1 whatever the run): never enrolled here.
        const string nik = "3201011505907777";
        using var verify = await http.PostAsync("/kur/verifikasi", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["nik"] = nik,
            ["__RequestVerificationToken"] = await FormTokenAsync("/kur/verifikasi"),
        }), ct);
        var answer = await verify.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        // A fresh NIK: Membership's answer, rendered by the portal in Indonesian.
        Assert.Contains("id=\"verify-status\">Tidak terdaftar<", answer, StringComparison.Ordinal);
        say("portal: bank-bri signed in through the portal's container and verified a NIK there (Membership answered: not registered)");
    }

    /// <summary>The replica of a module that was not killed.</summary>
    private static string Survivor(string module, List<string> killed) => ComposeDeployment.ReplicasOf(module).First(s => !killed.Contains(s));

    /// <summary>
    /// Two banks (two callers each) enrol new borrowers through both KUR replicas while one replica of every module is
    /// SIGKILLed in turn: KUR's first, Membership's second (KUR's calls to it go through <c>dns:///membership-replicas</c>),
    /// the audit log's writer (the survivor must take the lease), then Prakerja's, NonAsn's and Rentan's second. Each kill
    /// waits for more loans answered after the one before, and the banks go on until loans were answered after the last:
    /// every kill lands mid-load. The killed containers stay down until the books are checked.
    /// </summary>
    private async Task<KurLedger> EnrolWhileOneReplicaOfEachModuleIsKilledAsync(ComposeDeployment deployment, List<string> killed, Action<string> say, CancellationToken ct)
    {
        var stats = new RpcStats();
        var calls = new BankCalls(stats);
        var ledger = new KurLedger();
        var borrowers = new BorrowerSource(deployment.Project[^8..]);
        var failures = new ConcurrentQueue<string>();
        var answered = 0;

        async Task SendAsync(KurService.KurServiceClient client, Loan loan)
        {
            try
            {
                var answer = await calls.CallAsync("kur.EnrolBorrower", c => client.EnrolBorrowerAsync(loan.Request, RpcCalls.WithTimeout(BankCalls.AttemptTimeout, c)).ResponseAsync, ct);
                ledger.Record(loan, answer);
                Interlocked.Increment(ref answered);
            }
            catch (RpcException ex)
            {
                failures.Enqueue($"{loan.Member} loan {loan.Request.LoanReference}: {ex.StatusCode} {ex.Status.Detail}");
            }
        }

        var faultDone = false;
        // Two callers per bank, each with its own new borrowers, each through both KUR replicas.
        var banks = Banks.SelectMany(bank => Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var client = new KurService.KurServiceClient(deployment.Channel("kur", bank.Member));
            // Until every kill is done and loans were answered after the last, whatever the count (a cap against a hang).
            for (var i = 0; i < LoansPerBank / 2 || (!Volatile.Read(ref faultDone) && i < LoansPerBank * 20); i++)
            {
                var loan = new Loan(bank.Member, borrowers.NewLoan(bank.BankCode), BorrowerKind.Fresh);
                ledger.Add(loan);
                await SendAsync(client, loan);
            }
        }, ct))).ToList();

        var fault = Task.Run(async () =>
        {
            var mark = 0;
            async Task AnsweredAtLeastAsync(int count, string what)
            {
                while (Volatile.Read(ref answered) < count)
                {
                    Assert.False(banks.All(b => b.IsCompleted), $"the banks stopped before {what}");
                    await Task.Delay(50, ct);
                }
            }

            foreach (var module in KillOrder)
            {
                await AnsweredAtLeastAsync(mark + LoansBetweenKills, $"killing a replica of {module}");
                // Round robin, not one HTTP/2 connection pinned to a replica: both replicas served calls before one dies.
                if (CallsSpread.TryGetValue(module, out var path)) await BothReplicasServedAsync(deployment, module, path, say, ct);
                (string Service, string HostName, JobLease Lease)? writer = module == "audit" ? await AuditWriterAsync(deployment, ct) : null;
                var victim = writer?.Service ?? (module == "kur" ? "kur" : module + "-2");
                mark = Volatile.Read(ref answered);
                await deployment.KillAsync(victim, ct);
                killed.Add(victim);
                say($"SIGKILL {victim}{(writer is null ? "" : $" (the audit log's writer, lease token {writer.Value.Lease.Token})")} after {mark} loans answered");
                if (writer is { } old) await WriterTakenOverAsync(deployment, old, say, ct);
            }

            await AnsweredAtLeastAsync(mark + LoansBetweenKills, "loans were answered after the last kill");
            Volatile.Write(ref faultDone, true);
        }, ct);
        await Task.WhenAll([.. banks, fault]);

        // Each bank asks again about loans already answered: the same answer, whatever happened in between.
        foreach (var loan in ledger.Loans.Where(l => l.First is not null).Take(6).ToList())
        {
            await SendAsync(new KurService.KurServiceClient(deployment.Channel("kur", loan.Member)), loan);
        }

        say($"KUR: {ledger.Loans.Count} loans from {Banks.Length} banks answered through both KUR replicas while {killed.Count} replicas were killed " +
            $"({calls.Retries} attempts retried after UNAVAILABLE or a deadline, each retry answered)");
        Assert.Empty(failures);
        Assert.Empty(ledger.WrongAnswers);
        Assert.All(ledger.Loans, l => Assert.Equal(EnrolmentOutcome.Enrolled, l.First?.Outcome));
        Assert.Equal(KillOrder.Length, killed.Count);
        return ledger;
    }

    /// <summary>Waits until each replica of <paramref name="module"/> logged a call on <paramref name="path"/>: a hang guard, since round robin gives both calls.</summary>
    private static async Task BothReplicasServedAsync(ComposeDeployment deployment, string module, string path, Action<string> say, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var served = new List<int>();
            foreach (var service in ComposeDeployment.ReplicasOf(module)) served.Add(await deployment.CallsServedAsync(service, path, ct));
            if (served.All(n => n > 0))
            {
                say($"{module}: both replicas served calls ({string.Join(" and ", served)} on {path})");
                return;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"{module}: calls on {path} did not reach both replicas within 2 minutes ({string.Join(", ", served)})");
            await Task.Delay(1000, ct);
        }
    }

    /// <summary>The audit replica holding the writer lease, found by its holder name (container host name/pid/random).</summary>
    private static async Task<(string Service, string HostName, JobLease Lease)> AuditWriterAsync(ComposeDeployment deployment, CancellationToken ct)
    {
        var hosts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var service in ComposeDeployment.ReplicasOf("audit")) hosts[await deployment.HostNameAsync(service, ct)] = service;
        var leases = new JobLeases(new ModuleDatabase("audit", DatabaseProvider.Postgres, deployment.Database("audit")));
        var until = Stopwatch.StartNew();
        while (true)
        {
            if (await leases.HolderAsync(AuditWriterJob, ct) is { } lease && hosts.TryGetValue(lease.Holder.Split('/')[0], out var writer)) return (writer, lease.Holder.Split('/')[0], lease);
            Assert.True(until.Elapsed < TimeSpan.FromMinutes(2), "no audit replica held the writer lease for 2 minutes");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>After the writer's SIGKILL: the other replica holds the lease under a later fencing token (once the old one ran out).</summary>
    private static async Task WriterTakenOverAsync(ComposeDeployment deployment, (string Service, string HostName, JobLease Lease) old, Action<string> say, CancellationToken ct)
    {
        var leases = new JobLeases(new ModuleDatabase("audit", DatabaseProvider.Postgres, deployment.Database("audit")));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await leases.HolderAsync(AuditWriterJob, ct) is { } lease && !lease.Holder.StartsWith(old.HostName + "/", StringComparison.Ordinal))
            {
                Assert.True(lease.Token > old.Lease.Token, $"the new writer's token {lease.Token} does not follow the killed writer's {old.Lease.Token}");
                say($"the other audit replica took the writer lease {clock.Elapsed.TotalSeconds:0.0} s after the kill (token {lease.Token})");
                return;
            }

            // A hang guard: the lease runs out 10 s after the writer's last renewal.
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"the writer lease was not taken over within 2 minutes of killing {old.Service}");
            await Task.Delay(200, ct);
        }
    }

    private async Task UploadNonAsnStaffAsync(ComposeDeployment deployment, string service, Action<string> say, CancellationToken ct)
    {
        var staff = Path.Combine(deployment.WorkDirectory, "staff.csv");
        var results = Path.Combine(deployment.WorkDirectory, "staff.results.csv");
        var rows = Enumerable.Range(1, 12).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"737201150890{i:0000},Pegawai {i},1990-08-15,M,Staf Administrasi,Dinas Kominfo,PPNPN,2026-01-01,{3_000_000 + (i * 10_000)}"));
        await File.WriteAllTextAsync(staff,
            "nik,full_name,birth_date,sex,position,work_unit,employment_type,contract_start_date,monthly_wage_rupiah\n" + string.Join('\n', rows) + "\n", ct);
        var (exitCode, text) = await deployment.CliAsync(service, "kemnaker", ["nonasn", "register", staff, "--employer", "11000001", "--results", results], ct);
        Assert.True(exitCode == 0, $"verification nonasn register exited {exitCode}:\n{text}");
        var outcomes = (await File.ReadAllLinesAsync(results, ct)).Skip(1).Select(l => l.Split(',')[2]).ToList();
        Assert.Equal(12, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal("REGISTERED", o));
        say($"non-ASN: kemnaker's upload of 12 staff to {service}, every row REGISTERED (verification nonasn register)");
    }

    private async Task CrossCheckPrakerjaBatchAsync(ComposeDeployment deployment, string service, Action<string> say, CancellationToken ct)
    {
        const int Recipients = 150;
        var list = Path.Combine(deployment.WorkDirectory, "recipients.csv");
        var niks = Enumerable.Range(1, Recipients).Select(i => string.Create(CultureInfo.InvariantCulture, $"737101{(i % 28) + 1:00}0385{i:0000},r{i}"));
        await File.WriteAllTextAsync(list, "nik,row_id\n" + string.Join('\n', niks) + "\n", ct);
        var (exitCode, text) = await deployment.CliAsync(service, "prakerja-pmo", ["prakerja", "submit", list, "--label", "Gelombang uji compose", "--output", "json"], ct);
        Assert.True(exitCode == 0, $"verification prakerja submit exited {exitCode}:\n{text}");
        var batchId = JsonDocument.Parse(text.Trim().Split('\n')[^1]).RootElement.GetProperty("batchId").GetString()!;

        var client = new PrakerjaService.PrakerjaServiceClient(deployment.Channel("prakerja", "prakerja-pmo"));
        var until = Stopwatch.StartNew();
        Batch batch;
        while (true)
        {
            batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = batchId }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(10), ct))).Batch;
            if (batch.State is BatchState.Completed or BatchState.Failed or BatchState.Expired) break;
            Assert.True(until.Elapsed < TimeSpan.FromMinutes(3), $"batch {batchId} not completed within 3 minutes ({batch.ProcessedCount}/{batch.RecipientCount})");
            await Task.Delay(250, ct);
        }

        Assert.Equal(BatchState.Completed, batch.State);
        var results = Path.Combine(deployment.WorkDirectory, "prakerja-results.csv");
        (exitCode, text) = await deployment.CliAsync(service, "prakerja-pmo", ["prakerja", "results", batchId, "--out", results], ct);
        Assert.True(exitCode == 0, $"verification prakerja results exited {exitCode}:\n{text}");
        Assert.Equal(Recipients, (await File.ReadAllLinesAsync(results, ct)).Skip(1).Count(l => l.Length > 0));
        say($"Prakerja: a batch of {Recipients} recipients submitted to {service} COMPLETED and its results downloaded (verification prakerja submit / results)");
    }

    private async Task CheckBooksAsync(ComposeDeployment deployment, KurLedger ledger, Action<string> say, CancellationToken ct)
    {
        string[] databases = [.. ComposeDeployment.Modules.Keys.SelectMany(m => new[] { m, "access_" + m })];

        // Drained: no outbox row pending and the audit log holding as many entries as the modules wrote events.
        var clock = Stopwatch.StartNew();
        Dictionary<Guid, string> written;
        long entries;
        while (true)
        {
            written = [];
            long pending = 0;
            foreach (var database in databases)
            {
                foreach (var row in await QueryAsync(deployment, database, $"SELECT event_id, message_type, published_at IS NULL FROM outbox_events WHERE {SuiteProbe.LoggedEvents}", ct))
                {
                    written[(Guid)row[0]!] = $"{database}:{((string)row[1]!).Split('.')[^1]}";
                    if ((bool)row[2]!) pending++;
                }
            }

            entries = (long)(await QueryAsync(deployment, "audit", "SELECT count(*) FROM audit_entries", ct))[0][0]!;
            if (pending == 0 && entries >= written.Count) break;
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"not drained within 3 minutes: {pending} outbox rows pending, {entries} audit entries for {written.Count} events");
            await Task.Delay(500, ct);
        }

        say($"drained in {clock.Elapsed.TotalSeconds:0.0} s: {written.Count} events written by the modules, {entries} audit entries");

        // Every event any module wrote is in the log exactly once, and nothing else is.
        var inLog = (await QueryAsync(deployment, "audit", "SELECT event_id, count(*) FROM audit_entries GROUP BY event_id", ct)).ToDictionary(r => (Guid)r[0]!, r => (long)r[1]!);
        Assert.Empty(inLog.Where(e => e.Value != 1).Select(e => $"event {e.Key} in the log {e.Value} times"));
        Assert.Empty(written.Keys.Where(id => !inLog.ContainsKey(id)).Select(id => $"{written[id]} {id} not in the log"));
        Assert.Empty(inLog.Keys.Where(id => !written.ContainsKey(id)).Select(id => $"log entry for event {id} that no module wrote"));

        // One writer at a time, the killed one included: the log's leaves are consecutive from 0, no gap and no fork.
        var leaves = (await QueryAsync(deployment, "audit", "SELECT count(*), coalesce(min(entry_index), -1), coalesce(max(entry_index), -1), count(DISTINCT entry_index) FROM audit_entries", ct))[0];
        var count = (long)leaves[0]!;
        Assert.Equal((0L, count - 1, count), ((long)leaves[1]!, (long)leaves[2]!, (long)leaves[3]!));

        // Consumed exactly once as far as the broker can tell too: nothing waiting, nothing in an error or skipped queue.
        var queues = await deployment.QueuesAsync(ct);
        Assert.True(queues.ContainsKey("audit-log"), $"the audit log's queue is missing: {string.Join(", ", queues.Keys)}");
        Assert.Empty(queues.Where(q => q.Value != 0).Select(q => $"{q.Key}: {q.Value} messages"));

        // Every loan a bank was answered is recorded as answered, and its enrolment has its events in the log, once each.
        var records = (await QueryAsync(deployment, "kur", "SELECT bank_code, loan_reference, outcome, participant_number, recorded_at IS NOT NULL FROM kur_enrolments", ct))
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (Outcome: (string)r[2]!, Participant: (string?)r[3], Recorded: (bool)r[4]!));
        Assert.Equal(ledger.Loans.Count, records.Count);
        var kurEntries = (await QueryAsync(deployment, "audit", "SELECT member_code, loan_reference, count(*) FROM audit_entries WHERE event_type = 'KurBorrowerEnrolled' GROUP BY 1, 2", ct))
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (long)r[2]!);
        var participantEntries = (await QueryAsync(deployment, "audit",
                "SELECT participant_number, event_type, count(*) FROM audit_entries WHERE event_type IN ('ParticipantEnrolled', 'CoverageStarted') AND participant_number IS NOT NULL GROUP BY 1, 2", ct))
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (long)r[2]!);
        foreach (var loan in ledger.Loans)
        {
            var key = (loan.Request.BankCode, loan.Request.LoanReference);
            Assert.True(records.TryGetValue(key, out var record) && record.Recorded, $"loan {loan.Request.LoanReference} was answered but has no completed record");
            Assert.Equal(("ENROLLED", loan.First!.ParticipantNumber), (record.Outcome, record.Participant));
            Assert.True(kurEntries.GetValueOrDefault(key) == 1, $"loan {loan.Request.LoanReference}: {kurEntries.GetValueOrDefault(key)} KurBorrowerEnrolled entries, not 1");
            foreach (var type in new[] { "ParticipantEnrolled", "CoverageStarted" })
            {
                var n = participantEntries.GetValueOrDefault((record.Participant!, type));
                Assert.True(n == 1, $"participant {record.Participant} (loan {loan.Request.LoanReference}): {n} {type} entries, not 1");
            }
        }

        say($"books: {records.Count} KUR records = the loans answered, each with one KurBorrowerEnrolled, ParticipantEnrolled and CoverageStarted entry; all {written.Count} events in the log exactly once at indexes 0..{count - 1}; {queues.Count} queues empty, none in an error or skipped queue");
    }

    private async Task VerifyTheAuditLogAsAnAuditorAsync(ComposeDeployment deployment, KurLedger ledger, string service, Action<string> say, CancellationToken ct)
    {
        var state = Path.Combine(deployment.WorkDirectory, "audit-head.json");
        // The first verify pins a signed head; the second checks the log grew consistently from it and proves a loan's entries.
        var (exitCode, text) = await deployment.CliAsync(service, "auditor-bpk", ["audit", "verify", "--public-key", deployment.AuditPublicKeyFile, "--state", state], ct);
        Assert.True(exitCode == 0, $"verification audit verify exited {exitCode}:\n{text}");
        var loan = ledger.Loans.First().Request.LoanReference;
        (exitCode, text) = await deployment.CliAsync(service, "auditor-bpk", ["audit", "verify", "--public-key", deployment.AuditPublicKeyFile, "--state", state, "--loan", loan], ct);
        Assert.True(exitCode == 0, $"verification audit verify --loan exited {exitCode}:\n{text}");
        Assert.DoesNotContain("NOT INTACT", text, StringComparison.Ordinal);
        say($"auditor: verification audit verify (signed head, consistency, inclusion of loan {loan}'s entries) exited 0");
    }

    private static async Task<List<object?[]>> QueryAsync(ComposeDeployment deployment, string database, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(deployment.Database(database));
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<object?[]>();
            while (await reader.ReadAsync(ct))
            {
                var values = new object?[reader.FieldCount];
                for (var i = 0; i < values.Length; i++) values[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(values);
            }

            return rows;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return [];
        }
    }
}
