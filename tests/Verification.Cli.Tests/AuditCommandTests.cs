using Microsoft.AspNetCore.Builder;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Verification.Contracts.Events;
using Grpc.Core;
using Verification.Api.Channels;

namespace Verification.Cli.Tests;

/// <summary><c>audit trace</c> and <c>audit verify</c> end to end, on an honest log and on tampered ones.</summary>
public sealed class AuditCommandTests(SuiteHost suite) : IClassFixture<SuiteHost>
{
    private async Task<(string Nik, string Loan)> EnrolAsync(SuiteHost host)
    {
        var nik = TestData.NewNik();
        var loan = TestData.NewLoan();
        var run = await host.RunAsync("bank-bri", TestData.Enrol(nik, loan));
        Assert.True(run.ExitCode == 0, run.ToString());
        await host.WaitForEntryAsync(new TraceRequest { LoanReference = loan }, e => e.EventType == "KurBorrowerEnrolled");
        await host.WaitForSignedLogAsync();
        return (nik, loan);
    }

    [Fact]
    public async Task TraceByLoanAndByNikListsTheEnrolmentWithTheNikOnlyMasked()
    {
        var (nik, loan) = await EnrolAsync(suite);

        var byLoan = await suite.RunAsync("auditor-bpk", "audit", "trace", "--loan", loan);
        Assert.True(byLoan.ExitCode == 0, byLoan.ToString());
        Assert.Contains("KurBorrowerEnrolled", byLoan.Output);
        Assert.Contains(loan, byLoan.Output);
        Assert.Contains(nik[..4] + "••••••••" + nik[12..], byLoan.Output);
        Assert.DoesNotContain(nik, byLoan.Output);

        var byNik = await suite.RunAsync("auditor-bpk", "audit", "trace", "--nik", nik, "-o", "json");
        Assert.True(byNik.ExitCode == 0, byNik.ToString());
        var entries = TestData.JsonLines(byNik.Output);
        Assert.Contains(entries, e => e.GetProperty("eventType").GetString() == "KurBorrowerEnrolled" && e.GetProperty("keys").GetProperty("loanReference").GetString() == loan);
        Assert.DoesNotContain(nik, byNik.Output);
    }

    [Fact]
    public async Task TraceByBatchFindsThePrakerjaBatchEvents()
    {
        var batchId = "batch-" + Guid.NewGuid().ToString("N")[..12];
        await suite.PublishAsync(new PrakerjaBatchCompleted(Guid.NewGuid(), DateTimeOffset.UtcNow, "corr-" + batchId, "prakerja-pmo", "prakerja", batchId, "Gelombang 45", ["g45"], 3, 1, 1, 1, new string('a', 64)));
        await suite.WaitForEntryAsync(new TraceRequest { BatchId = batchId }, _ => true);

        var human = await suite.RunAsync("auditor-bpk", "audit", "trace", "--batch", batchId);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("PrakerjaBatchCompleted", human.Output);
        Assert.Contains("1 entry", human.Output);

        var json = Assert.Single(TestData.JsonLines((await suite.RunAsync("auditor-bpk", "audit", "trace", "--batch", batchId, "-o", "json")).Output));
        Assert.Equal(batchId, json.GetProperty("keys").GetProperty("batchId").GetString());
    }

    [Fact]
    public async Task TraceNeedsExactlyOneFilterAndAnAuditor()
    {
        Assert.Equal(2, (await suite.RunAsync("auditor-bpk", "audit", "trace")).ExitCode);
        var two = await suite.RunAsync("auditor-bpk", "audit", "trace", "--loan", "A", "--batch", "B");
        Assert.Equal(2, two.ExitCode);
        Assert.Contains("at most one of", two.Error);

        var bank = await suite.RunAsync("bank-bri", "audit", "trace", "--loan", "A");
        Assert.Equal(3, bank.ExitCode);
        Assert.Contains("Not allowed", bank.Error);
    }

    [Fact]
    public async Task VerifySavesTheHeadThenChecksTheNextRunIsConsistentWithIt()
    {
        var (_, loan) = await EnrolAsync(suite);
        var state = TestData.Temp("audit-head.json");

        var first = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("✓ signed tree head:", first.Output);
        Assert.Contains("LOG INTACT", first.Output);
        Assert.DoesNotContain("consistent with the head you verified before", first.Output);
        var saved = JsonDocument.Parse(await File.ReadAllTextAsync(state)).RootElement;
        var firstSize = saved.GetProperty("TreeSize").GetInt64();
        Assert.True(firstSize >= 1);

        var (_, laterLoan) = await EnrolAsync(suite);
        var second = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state, "--loan", laterLoan);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"consistent with the head you verified before ({firstSize} entries)", second.Output);
        Assert.Contains("traced entry proved included, fields matching their bytes", second.Output);
        Assert.True(JsonDocument.Parse(await File.ReadAllTextAsync(state)).RootElement.GetProperty("TreeSize").GetInt64() > firstSize);

        var json = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state, "--loan", loan, "-o", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var report = Assert.Single(TestData.JsonLines(json.Output));
        Assert.True(report.GetProperty("intact").GetBoolean());
        Assert.Empty(report.GetProperty("findings").EnumerateArray());
    }

    [Fact]
    public async Task AWholeLogCheckAskedForInSmallRangesChecksEveryEntryAndGivesTheSignedRoot()
    {
        await EnrolAsync(suite);
        await EnrolAsync(suite);
        using var channel = suite.Channel("auditor-bpk");
        var client = new AuditService.AuditServiceClient(channel);
        var head = Commands.AuditCommands.ToVerified((await client.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead);
        Assert.True(head.Head.TreeSize > 6, $"a log of {head.Head.TreeSize} entries needs more than two calls of 3");

        // A large log is streamed in several calls, each under the channel's deadline; the seams must lose or repeat nothing.
        var inThrees = await Commands.WholeLogCheck.RunAsync(client, CompactRange.Empty(), head, new Output.RowCounter(), CancellationToken.None, entriesPerCall: 3);
        var inOne = await Commands.WholeLogCheck.RunAsync(client, CompactRange.Empty(), head, new Output.RowCounter(), CancellationToken.None);

        Assert.Empty(inThrees.Findings);
        Assert.Equal(head.Head.TreeSize, inThrees.Checked);
        Assert.Equal(head.Head.RootHash, inThrees.Range.Root());
        Assert.Equal(inOne.Range.Root(), inThrees.Range.Root());
    }

    [Fact]
    public async Task AHeadCheckedAgainstAnotherKeyIsNotIntact()
    {
        await EnrolAsync(suite);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var key = TestData.Temp("other.pub.pem");
        await File.WriteAllTextAsync(key, other.ExportSubjectPublicKeyInfoPem());
        var state = TestData.Temp("audit-head.json");

        var run = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", key, "--state", state);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("signature does not verify under the published key", run.Output);
        Assert.Contains("LOG NOT INTACT", run.Output);
        Assert.False(File.Exists(state));
    }

    [Fact]
    public async Task AForkedLogIsCaughtWhenTheSavedHeadIsNotAnAncestorOfTheServedOne()
    {
        // The auditor saw, earlier, a head of a different history (a split view): correctly signed, other root.
        await EnrolAsync(suite);
        var state = TestData.Temp("audit-head.json");
        Assert.Equal(0, (await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state)).ExitCode);
        var saved = JsonDocument.Parse(await File.ReadAllTextAsync(state)).RootElement;
        using var signer = TreeHeadSigner.FromPrivateKeyPem(await File.ReadAllTextAsync(suite.SigningKeyFile));
        var forked = signer.Sign(new TreeHead(saved.GetProperty("TreeSize").GetInt64(), DateTimeOffset.FromUnixTimeMilliseconds(saved.GetProperty("TimestampMilliseconds").GetInt64()), SHA256.HashData("another history"u8)));
        await File.WriteAllTextAsync(state, JsonSerializer.Serialize(new
        {
            forked.Head.TreeSize,
            forked.Head.TimestampMilliseconds,
            RootHash = Convert.ToHexStringLower(forked.Head.RootHash),
            Signature = Convert.ToBase64String(forked.Signature),
        }));
        var before = await File.ReadAllTextAsync(state);

        var run = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("not consistent with the head you verified before", run.Output);
        Assert.Contains("history was rewritten", run.Output);
        Assert.Contains("LOG NOT INTACT", run.Output);
        Assert.Equal(before, await File.ReadAllTextAsync(state)); // the evidence is kept
    }

    [Fact]
    public async Task AnUnreadableSavedHeadIsAUsageErrorNotASilentReset()
    {
        var state = TestData.Temp("audit-head.json");
        await File.WriteAllTextAsync(state, "{ not json");
        var run = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unreadable", run.Error);
    }

    [Fact]
    public async Task AnEntryWhoseStoredBytesWereChangedFailsLoudly()
    {
        await using var host = new SuiteHost();
        await host.InitializeAsync();
        var (_, loan) = await EnrolAsync(host);
        var state = TestData.Temp("audit-head.json");
        var honest = await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", state, "--loan", loan);
        Assert.True(honest.ExitCode == 0, honest.ToString());

        // The operator, with the database in hand, rewrites who enrolled the borrower.
        await host.StopAsync();
        await using (var connection = new SqliteConnection($"Data Source={host.AuditDatabase};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TRIGGER IF EXISTS audit_entries_no_update";
            await drop.ExecuteNonQueryAsync();
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT entry_index, canonical_bytes FROM audit_entries WHERE loan_reference = @loan AND event_type = 'KurBorrowerEnrolled'";
            read.Parameters.AddWithValue("@loan", loan);
            var rows = new List<(long Index, byte[] Bytes)>();
            await using (var reader = await read.ExecuteReaderAsync())
                while (await reader.ReadAsync()) rows.Add((reader.GetInt64(0), (byte[])reader[1]));
            var (index, bytes) = Assert.Single(rows);
            var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"actingMember\":\"bank-bri\"", "\"actingMember\":\"bank-bni\"", StringComparison.Ordinal));
            Assert.NotEqual(bytes, altered);
            await using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_entries SET canonical_bytes = @bytes, acting_member = 'bank-bni' WHERE entry_index = @index";
            update.Parameters.AddWithValue("@bytes", altered);
            update.Parameters.AddWithValue("@index", index);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }
        await host.StartAsync();

        var run = await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", state, "--loan", loan);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is not proved in the signed tree", run.Output);
        Assert.Contains("LOG NOT INTACT", run.Output);

        var json = Assert.Single(TestData.JsonLines((await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", state, "--loan", loan, "-o", "json")).Output));
        Assert.False(json.GetProperty("intact").GetBoolean());
    }

    [Fact]
    public async Task ARewrittenHistoryWithTheTreeRebuiltAndResignedIsCaughtByTheSavedHead()
    {
        await using var host = new SuiteHost();
        await host.InitializeAsync();
        var (_, loan) = await EnrolAsync(host);
        var state = TestData.Temp("audit-head.json");
        Assert.Equal(0, (await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", state)).ExitCode);

        // The operator has the database and the signing key: it rewrites an entry, rebuilds every hash and signs a new head.
        await host.StopAsync();
        await using (var connection = new SqliteConnection($"Data Source={host.AuditDatabase};Pooling=False"))
        {
            await connection.OpenAsync();
            await ExecuteAsync(connection, "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_subtree_hashes_no_delete; DROP TRIGGER audit_tree_heads_no_delete;");
            var rows = new List<(long Index, byte[] Bytes, string? Loan, string Type)>();
            await using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT entry_index, canonical_bytes, loan_reference, event_type FROM audit_entries ORDER BY entry_index";
                await using var reader = await read.ExecuteReaderAsync();
                while (await reader.ReadAsync()) rows.Add((reader.GetInt64(0), (byte[])reader[1], reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3)));
            }
            var target = rows.FindIndex(r => r.Loan == loan && r.Type == "KurBorrowerEnrolled");
            var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(rows[target].Bytes).Replace("\"actingMember\":\"bank-bri\"", "\"actingMember\":\"bank-bni\"", StringComparison.Ordinal));
            rows[target] = rows[target] with { Bytes = altered };
            await using (var update = connection.CreateCommand())
            {
                update.CommandText = "UPDATE audit_entries SET canonical_bytes = @bytes, leaf_hash = @leaf, acting_member = 'bank-bni' WHERE entry_index = @index";
                update.Parameters.AddWithValue("@bytes", altered);
                update.Parameters.AddWithValue("@leaf", Rfc6962.HashLeaf(altered));
                update.Parameters.AddWithValue("@index", rows[target].Index);
                Assert.Equal(1, await update.ExecuteNonQueryAsync());
            }
            await ExecuteAsync(connection, "DELETE FROM audit_subtree_hashes; DELETE FROM audit_tree_heads;");
            var store = new InMemorySubtreeHashStore();
            foreach (var row in rows)
                foreach (var node in store.AppendLeafHash(Rfc6962.HashLeaf(row.Bytes)).Where(n => n.Address.Level > 0))
                    await ExecuteAsync(connection, $"INSERT INTO audit_subtree_hashes (level, node_index, hash) VALUES ({node.Address.Level}, {node.Address.Index}, x'{Convert.ToHexString(node.Hash)}')");
            using var signer = TreeHeadSigner.FromPrivateKeyPem(await File.ReadAllTextAsync(host.SigningKeyFile));
            var root = await new MerkleLogTree(store).RootAsync(rows.Count);
            var head = signer.Sign(new TreeHead(rows.Count, DateTimeOffset.UtcNow, root));
            using var publicKey = ECDsa.Create();
            publicKey.ImportFromPem(signer.ExportPublicKeyPem());
            var keyId = Convert.ToHexStringLower(SHA256.HashData(publicKey.ExportSubjectPublicKeyInfo()));
            await ExecuteAsync(connection, $"INSERT INTO audit_tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id) VALUES ({rows.Count}, x'{Convert.ToHexString(root)}', {head.Head.TimestampMilliseconds}, x'{Convert.ToHexString(head.Signature)}', '{keyId}')");
        }
        // The log would refuse a history that contradicts the newest head it published: this operator erases that record too.
        File.Delete(Path.Combine(Path.GetDirectoryName(host.SigningKeyFile)!, "published-head.json"));
        await host.StartAsync();

        // Every entry of the rewritten log is provable against its new, validly signed head...
        var fresh = await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", TestData.Temp("new-auditor.json"), "--loan", loan);
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        // ...but not to an auditor who kept the head from before.
        var run = await host.RunAsync("auditor-bpk", "audit", "verify", "--public-key", host.PublicKeyFile, "--state", state, "--loan", loan);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("history was rewritten", run.Output);
        Assert.Contains("LOG NOT INTACT", run.Output);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task AServerThatAltersTheSearchableFieldsIsCaughtByTraceAndVerify()
    {
        var (_, loan) = await EnrolAsync(suite);
        await using var liar = await FakeServer.StartAsync(
            services => services.AddSingleton(new RealLog(suite.Address, suite.Token("auditor-bpk"))),
            app => app.MapGrpcService<FieldAlteringAuditor>());

        var trace = await suite.RunAsync("auditor-bpk", "audit", "trace", "--loan", loan, "--address", liar.Address);
        Assert.Equal(1, trace.ExitCode);
        Assert.Contains("acting_member_code: stated 'bank-bni', canonical bytes say 'bank-bri'", trace.Error);
        Assert.Contains("do not rely on this trace", trace.Error);

        var state = TestData.Temp("audit-head.json");
        var verify = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state, "--loan", loan, "--address", liar.Address);
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("acting_member_code", verify.Output);
        Assert.Contains("LOG NOT INTACT", verify.Output);
    }

    [Fact]
    public async Task AServerThatServesOtherBytesInTheProofIsCaught()
    {
        var (_, loan) = await EnrolAsync(suite);
        await using var liar = await FakeServer.StartAsync(
            services => services.AddSingleton(new RealLog(suite.Address, suite.Token("auditor-bpk"))),
            app => app.MapGrpcService<BytesAlteringAuditor>());

        var state = TestData.Temp("audit-head.json");
        var verify = await suite.RunAsync("auditor-bpk", "audit", "verify", "--public-key", suite.PublicKeyFile, "--state", state, "--loan", loan, "--address", liar.Address);
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("is not the entry the signed tree holds at that position", verify.Output);
        Assert.Contains("LOG NOT INTACT", verify.Output);
    }

    /// <summary>The honest log behind a fake server.</summary>
    public sealed class RealLog(string address, string token) : IDisposable
    {
        private readonly VerificationChannel _channel = new(address, new ChannelSettings { BearerToken = token });

        public AuditService.AuditServiceClient Client => new(_channel);

        public void Dispose() => _channel.Dispose();
    }

    /// <summary>Forwards to the real log but states another acting member beside the untouched canonical bytes.</summary>
    public class FieldAlteringAuditor(RealLog log) : AuditService.AuditServiceBase
    {
        protected virtual AuditEntry Alter(AuditEntry entry)
        {
            var altered = entry.Clone();
            if (altered.ActingMemberCode == "bank-bri") altered.ActingMemberCode = "bank-bni";
            return altered;
        }

        protected virtual AuditEntry AlterProved(AuditEntry entry) => entry;

        public override async Task Trace(TraceRequest request, IServerStreamWriter<TraceResponse> responseStream, ServerCallContext context)
        {
            using var call = log.Client.Trace(request, new CallOptions(cancellationToken: context.CancellationToken));
            while (await call.ResponseStream.MoveNext(context.CancellationToken))
                await responseStream.WriteAsync(new TraceResponse { Entry = Alter(call.ResponseStream.Current.Entry) });
        }

        public override async Task<GetEntriesResponse> GetEntries(GetEntriesRequest request, ServerCallContext context) => await log.Client.GetEntriesAsync(request);

        public override async Task StreamEntries(StreamEntriesRequest request, IServerStreamWriter<StreamEntriesResponse> responseStream, ServerCallContext context)
        {
            using var call = log.Client.StreamEntries(request, new CallOptions(cancellationToken: context.CancellationToken));
            while (await call.ResponseStream.MoveNext(context.CancellationToken))
            {
                var altered = new StreamEntriesResponse();
                altered.Entries.AddRange(call.ResponseStream.Current.Entries.Select(Alter));
                await responseStream.WriteAsync(altered);
            }
        }

        public override async Task<GetTreeHeadResponse> GetTreeHead(GetTreeHeadRequest request, ServerCallContext context) => await log.Client.GetTreeHeadAsync(request);

        public override async Task<GetInclusionProofResponse> GetInclusionProof(GetInclusionProofRequest request, ServerCallContext context)
        {
            var response = await log.Client.GetInclusionProofAsync(request);
            response.Entry = AlterProved(Alter(response.Entry));
            return response;
        }

        public override async Task<GetConsistencyProofResponse> GetConsistencyProof(GetConsistencyProofRequest request, ServerCallContext context) => await log.Client.GetConsistencyProofAsync(request);
    }

    /// <summary>Serves, with the proof and the trace, bytes the log never committed to (fields rewritten to match them).</summary>
    public sealed class BytesAlteringAuditor(RealLog log) : FieldAlteringAuditor(log)
    {
        protected override AuditEntry Alter(AuditEntry entry)
        {
            var altered = entry.Clone();
            var text = altered.CanonicalBytes.ToStringUtf8();
            if (!text.Contains("\"actingMember\":\"bank-bri\"", StringComparison.Ordinal)) return altered;
            altered.CanonicalBytes = Google.Protobuf.ByteString.CopyFromUtf8(text.Replace("\"actingMember\":\"bank-bri\"", "\"actingMember\":\"bank-bni\"", StringComparison.Ordinal));
            altered.ActingMemberCode = "bank-bni";
            return altered;
        }
    }
}
