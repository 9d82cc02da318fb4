using System.Diagnostics;
using System.Globalization;
using NpgsqlTypes;
using Verification.Api.Audit.V1;
using Verification.Api.Kur.V1;
using Verification.Audit.Verifier;
using Verification.LoadTests.Harness;
using Verification.LoadTests.Scenarios;
using Grpc.Core;
using Verification.Api;
using VerifiedTreeHead = Verification.Audit.Verifier.SignedTreeHead;

namespace Verification.LoadTests.Books;

/// <summary>The outcome of the books check: balanced when nothing differs.</summary>
public sealed record BooksReport(IReadOnlyList<string> Differences, IReadOnlyList<string> Checks)
{
    public bool Balanced => Differences.Count == 0;
}

/// <summary>
/// After the load: waits until every outbox is empty and the audit log has caught up, then checks that every answer a
/// bank got is in the records, that every committed enrolment has exactly one participant (with the borrower's NIK)
/// and one KUR coverage in Membership and exactly one audit entry for its event, that every event any module wrote is
/// in the audit log exactly once, that no message sits in an error queue, and that the log's proofs verify.
/// </summary>
public sealed class BooksCheck(Suite suite, RpcStats stats, TextWriter output, bool listQueues = true)
{
    private readonly List<string> differences = [];
    private readonly List<string> checks = [];

    /// <summary>More checks, by module (Prakerja, non-ASN), run after the common ones.</summary>
    public List<Func<BooksCheck, CancellationToken, Task>> Extra { get; } = [];

    public void Differs(string what) => differences.Add(what);

    public void Checked(string what) => checks.Add(what);

    public async Task<BooksReport> RunAsync(KurLedger? ledger, IEnumerable<string> findings, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        var probe = new SuiteProbe(suite);
        var drained = await DrainAsync(probe, drainTimeout, cancellationToken);
        foreach (var finding in findings) Differs(finding);
        await CheckOutboxesAsync(probe, drained, cancellationToken);
        await CheckQueuesAsync(cancellationToken);
        if (ledger is not null) await CheckKurAsync(ledger, cancellationToken);
        await CheckEventsAuditedOnceAsync(cancellationToken);
        foreach (var extra in Extra) await extra(this, cancellationToken);
        await CheckProofsAsync(cancellationToken);

        output.WriteLine();
        foreach (var check in checks) output.WriteLine($"   ok  {check}");
        foreach (var difference in differences.Take(60)) output.WriteLine($"   !!  {difference}");
        if (differences.Count > 60) output.WriteLine($"   !!  … and {differences.Count - 60} more");
        output.WriteLine(differences.Count == 0 ? "== BOOKS BALANCED" : $"== BOOKS NOT BALANCED ({differences.Count} difference(s))");
        return new BooksReport(differences, checks);
    }

    private async Task<SuiteProbe.Snapshot> DrainAsync(SuiteProbe probe, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var lastPrint = TimeSpan.Zero;
        while (true)
        {
            SuiteProbe.Snapshot? snapshot = null;
            try
            {
                snapshot = await probe.TakeAsync(cancellationToken);
                if (snapshot.OutboxPending == 0 && snapshot.AuditBehind == 0 && snapshot.AuditPending == 0 && await QueuesEmptyAsync(cancellationToken))
                {
                    output.WriteLine($"   drained in {stopwatch.Elapsed.TotalSeconds:0.0} s: {probe.Describe(snapshot)}, queues empty");
                    return snapshot;
                }
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
            {
                // The database may still be coming back after a fault.
            }

            if (stopwatch.Elapsed > timeout)
            {
                snapshot ??= await probe.TakeAsync(cancellationToken);
                Differs($"not drained within {timeout.TotalSeconds:0} s: {probe.Describe(snapshot)}");
                return snapshot;
            }

            if (stopwatch.Elapsed - lastPrint > TimeSpan.FromSeconds(10) && snapshot is not null)
            {
                lastPrint = stopwatch.Elapsed;
                output.WriteLine($"   draining ({stopwatch.Elapsed.TotalSeconds:0} s): {probe.Describe(snapshot)}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>
    /// No message ready in the consumers' queues (duplicates published last must have been consumed too). Polled with
    /// passive declares, cheap; the final check lists every queue with rabbitmqctl.
    /// </summary>
    private async Task<bool> QueuesEmptyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var factory = new RabbitMQ.Client.ConnectionFactory { Uri = suite.RabbitMqUri };
            await using var connection = await factory.CreateConnectionAsync(cancellationToken);
            foreach (var queue in ConsumerQueues)
            {
                await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
                try
                {
                    if ((await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount > 0) return false;
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    // No such queue: nothing waits in it.
                }
            }

            return true;
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException)
        {
            return false;
        }
    }

    private async Task<IReadOnlyList<(string Name, long Ready, long Unacknowledged)>> PassiveQueueCountsAsync(CancellationToken cancellationToken)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = suite.RabbitMqUri };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        var counts = new List<(string, long, long)>();
        foreach (var queue in ConsumerQueues)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                counts.Add((queue, (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount, 0));
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // No such queue: nothing in it.
            }
        }

        return counts;
    }

    /// <summary>The receive endpoints of the suite's consumers (MassTransit kebab-case names), and their error queues.</summary>
    public static List<string> ConsumerQueues { get; } = ["audit-log", "audit-log_error", "audit-log_skipped"];

    private async Task CheckOutboxesAsync(SuiteProbe probe, SuiteProbe.Snapshot snapshot, CancellationToken cancellationToken)
    {
        var now = await probe.TakeAsync(cancellationToken);
        // Audit announces each newly signed head through its outbox, so a row can be written after the drain: each row
        // pending now must be published soon, rather than the outbox be empty at one instant.
        var stuck = new Dictionary<string, List<Guid>>(StringComparer.Ordinal);
        foreach (var outbox in now.Outboxes.Where(o => o.Pending > 0))
        {
            var ids = (await SuiteProbe.QueryAsync(suite.Databases[outbox.Database], "SELECT event_id FROM outbox_events WHERE published_at IS NULL", null, cancellationToken) ?? [])
                .Select(r => (Guid)r[0]!).ToList();
            if (ids.Count > 0) stuck[outbox.Database] = ids;
        }

        var clock = Stopwatch.StartNew();
        while (stuck.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(500, cancellationToken);
            foreach (var (database, ids) in stuck.ToList())
            {
                var pending = (await SuiteProbe.QueryAsync(suite.Databases[database], "SELECT event_id FROM outbox_events WHERE published_at IS NULL", null, cancellationToken) ?? [])
                    .Select(r => (Guid)r[0]!).ToHashSet();
                ids.RemoveAll(id => !pending.Contains(id));
                if (ids.Count == 0) stuck.Remove(database);
            }
        }

        foreach (var (database, ids) in stuck)
            Differs($"outbox of {database}: {ids.Count} row(s) not published within 30 s of the drain");
        if (stuck.Count == 0)
            Checked($"outboxes empty: {now.Outboxes.Count} databases, {now.OutboxTotal} events written and published");
    }

    private async Task CheckQueuesAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Name, long Ready, long Unacknowledged)> queues;
        try
        {
            queues = suite.Broker is { } broker && listQueues
                ? await broker.ListQueuesAsync(suite.VirtualHost, cancellationToken)
                : throw new InvalidOperationException(suite.Broker is null ? "attached RabbitMQ: rabbitmqctl is not ours to run" : "rabbitmqctl not used (--no-rabbitmqctl)");
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // rabbitmqctl boots an Erlang VM: on a saturated machine it can time out. The consumers' queues are known.
            queues = await PassiveQueueCountsAsync(cancellationToken);
            Checked($"(queues: {ex.Message}; the consumers' queues {string.Join(", ", ConsumerQueues)} were checked by passive declare)");
        }

        var errors = queues.Where(q => q.Name.EndsWith("_error", StringComparison.Ordinal) || q.Name.EndsWith("_skipped", StringComparison.Ordinal)).ToList();
        foreach (var queue in errors.Where(q => q.Ready + q.Unacknowledged > 0))
            Differs($"queue {queue.Name}: {queue.Ready + queue.Unacknowledged} message(s)");
        foreach (var queue in queues.Except(errors).Where(q => q.Ready + q.Unacknowledged > 0))
            Differs($"queue {queue.Name}: {queue.Ready + queue.Unacknowledged} message(s) still waiting after the drain");
        if (queues.All(q => q.Ready + q.Unacknowledged == 0))
            Checked($"queues empty: {queues.Count} queue(s) in virtual host {suite.VirtualHost}, {errors.Count} of them error/skipped queues");
    }

    private async Task CheckKurAsync(KurLedger ledger, CancellationToken cancellationToken)
    {
        var rows = await SuiteProbe.QueryAsync(suite.Databases["kur"],
            "SELECT bank_code, loan_reference, outcome, participant_number, recorded_at IS NOT NULL FROM kur_enrolments", null, cancellationToken) ?? [];
        var records = rows.ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (Outcome: (string)r[2]!, Participant: r[3] as string, Recorded: (bool)r[4]!));
        var claims = records.Count(r => !r.Value.Recorded);
        if (claims > 0) Differs($"kur: {claims} enrolment claim(s) never completed (Membership asked, answer never recorded)");

        var loans = ledger.Loans.ToList();
        var neverAnswered = loans.Where(l => l.First is null).ToList();
        if (neverAnswered.Count > 0) Differs($"kur: {neverAnswered.Count} loan(s) never answered, even after reconciliation (first: {neverAnswered[0].Request.LoanReference})");
        var mismatched = 0;
        foreach (var loan in loans.Where(l => l.First is not null))
        {
            if (!records.TryGetValue((loan.Request.BankCode, loan.Request.LoanReference), out var record) || !record.Recorded)
            {
                Differs($"kur: loan {loan.Request.LoanReference} was answered {loan.First!.Outcome} but has no record");
                continue;
            }

            var outcome = loan.First!.Outcome == EnrolmentOutcome.Enrolled ? "ENROLLED" : "ALREADY_COVERED";
            if (record.Outcome != outcome || (record.Participant ?? "") != loan.First.ParticipantNumber)
            {
                if (mismatched++ < 10) Differs($"kur: loan {loan.Request.LoanReference} was answered {outcome} {loan.First.ParticipantNumber}, the record says {record.Outcome} {record.Participant}");
            }
        }

        if (mismatched > 10) Differs($"kur: {mismatched} records in all differ from the answer the bank got");
        var unknown = records.Keys.Count(k => ledger.Find(k.Item1, k.Item2) is null);
        if (unknown > 0) Differs($"kur: {unknown} record(s) for loans no bank asked about");

        var enrolled = records.Where(r => r.Value.Recorded && r.Value.Outcome == "ENROLLED").ToList();
        var ids = enrolled.Select(r => long.Parse(r.Value.Participant![..10], CultureInfo.InvariantCulture)).ToArray();
        var participants = (await SuiteProbe.QueryAsync(suite.Databases["membership"], "SELECT id, nik FROM participants WHERE id = ANY(@ids)",
            c => c.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Bigint, ids), cancellationToken) ?? [])
            .ToDictionary(r => (long)r[0]!, r => (long)r[1]!);
        var kurCoverages = (await SuiteProbe.QueryAsync(suite.Databases["membership"],
            "SELECT participant_id, count(*) FROM coverages WHERE channel = 1 GROUP BY participant_id", null, cancellationToken) ?? [])
            .ToDictionary(r => (long)r[0]!, r => (long)r[1]!);
        var missingParticipant = 0;
        var wrongNik = 0;
        var coverageCount = 0;
        foreach (var ((bank, loanReference), record) in enrolled)
        {
            var id = long.Parse(record.Participant![..10], CultureInfo.InvariantCulture);
            if (!participants.TryGetValue(id, out var nik))
            {
                if (missingParticipant++ < 5) Differs($"membership: loan {loanReference} (bank {bank}) is ENROLLED as participant {record.Participant}, who does not exist");
                continue;
            }

            if (ledger.Find(bank, loanReference) is { } loan && nik.ToString(CultureInfo.InvariantCulture) != loan.Nik)
            {
                if (wrongNik++ < 5) Differs($"membership: participant {record.Participant} of loan {loanReference} holds another NIK than the borrower's");
            }

            if (kurCoverages.GetValueOrDefault(id) != 1 && coverageCount++ < 5)
                Differs($"membership: participant {record.Participant} of loan {loanReference} has {kurCoverages.GetValueOrDefault(id)} KUR coverages, not 1");
        }

        if (missingParticipant > 5) Differs($"membership: {missingParticipant} ENROLLED loans in all without their participant");
        if (wrongNik > 5) Differs($"membership: {wrongNik} participants in all with another NIK than their borrower's");
        if (coverageCount > 5) Differs($"membership: {coverageCount} ENROLLED participants in all without exactly one KUR coverage");
        var orphanCoverages = kurCoverages.Keys.Except(ids).Count();
        if (orphanCoverages > 0) Differs($"membership: {orphanCoverages} participant(s) with KUR coverage that no ENROLLED loan names");

        var audited = (await SuiteProbe.QueryAsync(suite.Databases["audit"],
            "SELECT member_code, loan_reference, count(*) FROM audit_entries WHERE event_type = 'KurBorrowerEnrolled' GROUP BY 1, 2", null, cancellationToken) ?? [])
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (long)r[2]!);
        var participantEvents = (await SuiteProbe.QueryAsync(suite.Databases["audit"],
            "SELECT participant_number, event_type, count(*) FROM audit_entries WHERE event_type IN ('ParticipantEnrolled', 'CoverageStarted') AND participant_number IS NOT NULL GROUP BY 1, 2", null, cancellationToken) ?? [])
            .ToDictionary(r => ((string)r[0]!, (string)r[1]!), r => (long)r[2]!);
        var notAudited = 0;
        foreach (var ((bank, loanReference), record) in records.Where(r => r.Value.Recorded))
        {
            var count = audited.GetValueOrDefault((bank, loanReference));
            if (count != 1 && notAudited++ < 5) Differs($"audit: loan {loanReference} (bank {bank}) has {count} KurBorrowerEnrolled entries, not 1");
            if (record.Outcome != "ENROLLED") continue;
            foreach (var type in new[] { "ParticipantEnrolled", "CoverageStarted" })
            {
                var n = participantEvents.GetValueOrDefault((record.Participant!, type));
                if (n != 1 && notAudited++ < 5) Differs($"audit: participant {record.Participant} (loan {loanReference}) has {n} {type} entries, not 1");
            }
        }

        if (notAudited > 5) Differs($"audit: {notAudited} KUR enrolment events in all not audited exactly once");
        if (claims == 0 && neverAnswered.Count == 0 && mismatched == 0 && unknown == 0 && missingParticipant == 0 && wrongNik == 0 && coverageCount == 0 && orphanCoverages == 0 && notAudited == 0)
        {
            Checked($"kur: {records.Count} records = the {loans.Count(l => l.First is not null)} loans answered ({enrolled.Count} ENROLLED, {records.Count - enrolled.Count} ALREADY_COVERED); " +
                $"each ENROLLED has its participant (the borrower's NIK) and exactly one KUR coverage; each record exactly one KurBorrowerEnrolled entry, each participant one ParticipantEnrolled and one CoverageStarted");
        }
    }

    private async Task CheckEventsAuditedOnceAsync(CancellationToken cancellationToken)
    {
        if (!suite.Databases.TryGetValue("audit", out var audit)) return;
        var written = new Dictionary<Guid, string>();
        foreach (var (key, connectionString) in suite.Databases)
        {
            foreach (var row in await SuiteProbe.QueryAsync(connectionString, $"SELECT event_id, message_type FROM outbox_events WHERE {SuiteProbe.LoggedEvents}", null, cancellationToken) ?? [])
                written[(Guid)row[0]!] = $"{key}:{((string)row[1]!).Split('.')[^1]}";
        }

        var entries = await SuiteProbe.QueryAsync(audit, "SELECT event_id, count(*) FROM audit_entries GROUP BY event_id", null, cancellationToken) ?? [];
        var inLog = entries.ToDictionary(r => (Guid)r[0]!, r => (long)r[1]!);
        var twice = inLog.Where(e => e.Value > 1).ToList();
        foreach (var (id, times) in twice.Take(5)) Differs($"audit: event {id} is in the log {times} times");
        var missing = written.Keys.Where(id => !inLog.ContainsKey(id)).ToList();
        if (missing.Count > 0)
            Differs($"audit: {missing.Count} event(s) written by the modules are not in the log ({string.Join(", ", missing.Take(5).Select(id => written[id]))})");
        var unexplained = inLog.Keys.Count(id => !written.ContainsKey(id));
        if (unexplained > 0) Differs($"audit: {unexplained} entr(y/ies) for events no module's outbox holds");
        var shape = await SuiteProbe.QuerySingleAsync(audit, "SELECT count(*), coalesce(min(entry_index), 0), coalesce(max(entry_index), -1) FROM audit_entries", cancellationToken);
        var (count, min, max) = ((long)shape![0]!, (long)shape[1]!, (long)shape[2]!);
        if (count > 0 && (min != 0 || max != count - 1)) Differs($"audit: indexes are not consecutive from 0 ({count} entries, {min}..{max})");
        if (twice.Count == 0 && missing.Count == 0 && unexplained == 0)
            Checked($"audit: every one of the {written.Count} events the modules wrote is in the log exactly once ({inLog.Count} entries, indexes 0..{max})");
    }

    private async Task CheckProofsAsync(CancellationToken cancellationToken)
    {
        if (!suite.Databases.TryGetValue("audit", out var audit)) return;
        var client = new AuditService.AuditServiceClient(suite.Channel("audit", "auditor-bpk"));
        using var verifier = TreeHeadVerifier.FromPublicKeyPem(suite.AuditPublicKeyPem);
        var auditor = new LogAuditor(verifier);
        var size = (long)(await SuiteProbe.QuerySingleAsync(audit, "SELECT count(*) FROM audit_entries", cancellationToken))![0]!;
        if (size == 0)
        {
            Differs("audit: the log is empty");
            return;
        }

        // A head covering the whole log is signed within the tree-head interval of the last append.
        Verification.Api.Audit.V1.SignedTreeHead? proto = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < until)
        {
            try
            {
                proto = (await client.GetTreeHeadAsync(new GetTreeHeadRequest(), RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), cancellationToken))).TreeHead;
                if (proto?.TreeSize >= size) break;
            }
            catch (RpcException)
            {
            }

            await Task.Delay(250, cancellationToken);
        }

        if (proto is null || proto.TreeSize < size)
        {
            Differs($"audit: no signed tree head covers the {size} entries (latest: {proto?.TreeSize})");
            return;
        }

        var head = AuditorWorkload.ToVerified(proto);
        if (!verifier.Verify(head))
        {
            Differs($"audit: the signed tree head of size {head.Head.TreeSize} does not verify under the log's public key");
            return;
        }

        // Inclusion: every entry when the log is small, else a random sample plus both ends.
        var indexes = size <= 2000
            ? Enumerable.Range(0, (int)size).Select(i => (long)i).ToList()
            : [0, size - 1, .. Enumerable.Range(0, 2000).Select(_ => Random.Shared.NextInt64(size))];
        var leafHashes = (await SuiteProbe.QueryAsync(audit, "SELECT entry_index, leaf_hash FROM audit_entries WHERE entry_index = ANY(@i)",
            c => c.Parameters.AddWithValue("i", NpgsqlDbType.Array | NpgsqlDbType.Bigint, indexes.ToArray()), cancellationToken) ?? [])
            .ToDictionary(r => (long)r[0]!, r => (byte[])r[1]!);
        var failed = 0;
        await Parallel.ForEachAsync(indexes.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (index, ct) =>
        {
            GetInclusionProofResponse inclusion;
            try
            {
                inclusion = await stats.TimeAsync("books: audit.GetInclusionProof", () => client.GetInclusionProofAsync(
                    new GetInclusionProofRequest { Index = index, TreeSize = head.Head.TreeSize }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(10), ct)).ResponseAsync);
            }
            catch (RpcException ex)
            {
                if (Interlocked.Increment(ref failed) <= 5)
                {
                    lock (differences) Differs($"audit: no inclusion proof for entry {index}: {ex.StatusCode}");
                }

                return;
            }

            var finding = auditor.CheckEntry(head, inclusion.Entry.CanonicalBytes.Span, index, [.. inclusion.Proof.AuditPath.Select(p => p.ToByteArray())]);
            var stored = leafHashes.GetValueOrDefault(index);
            if (finding != AuditFinding.Verified || stored is null || !Rfc6962.HashLeaf(inclusion.Entry.CanonicalBytes.Span).AsSpan().SequenceEqual(stored))
            {
                if (Interlocked.Increment(ref failed) <= 5)
                {
                    lock (differences) Differs($"audit: entry {index} is not proved in the tree of {head.Head.TreeSize}: {finding}");
                }
            }
        });

        // Consistency: from earlier signed heads (spread over the run) to the final one.
        var heads = await SuiteProbe.QueryAsync(audit, "SELECT tree_size, root_hash, timestamp_ms, signature FROM audit_tree_heads WHERE tree_size <= @s ORDER BY tree_size",
            c => c.Parameters.AddWithValue("s", head.Head.TreeSize), cancellationToken) ?? [];
        var earlier = heads.Where((_, i) => heads.Count <= 30 || i % (heads.Count / 30) == 0).ToList();
        var inconsistent = 0;
        foreach (var row in earlier)
        {
            var old = new VerifiedTreeHead(new TreeHead((long)row[0]!, DateTimeOffset.FromUnixTimeMilliseconds((long)row[2]!), (byte[])row[1]!), (byte[])row[3]!);
            var proof = await stats.TimeAsync("books: audit.GetConsistencyProof", () => client.GetConsistencyProofAsync(
                new GetConsistencyProofRequest { FirstSize = old.Head.TreeSize, SecondSize = head.Head.TreeSize }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(10), cancellationToken)).ResponseAsync);
            var finding = auditor.CheckGrowth(old, head, [.. proof.Proof.Path.Select(p => p.ToByteArray())]);
            if (finding != AuditFinding.Verified && inconsistent++ < 5) Differs($"audit: signed head {old.Head.TreeSize} -> {head.Head.TreeSize}: {finding}");
        }

        if (failed == 0 && inconsistent == 0)
            Checked($"audit proofs: signed head of {head.Head.TreeSize} entries verifies; {indexes.Distinct().Count()} inclusion proofs and {earlier.Count} consistency proofs (from earlier signed heads) verify");
    }
}
