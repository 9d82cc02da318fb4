using System.Text;
using Microsoft.Data.Sqlite;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Grpc.Core;
using Verification.Api;
using ApiSignedTreeHead = Verification.Api.Audit.V1.SignedTreeHead;

namespace Verification.Audit.Tests.Module;

/// <summary>
/// The auditor keeps a signed tree head taken before the tampering. The operator (who has the database and the
/// signing key) then rewrites the stored log and serves it; the auditor's checks through the wire must catch it.
/// </summary>
public sealed class TamperedLogTests
{
    private const int LogSize = 16;

    [Fact]
    public async Task ChangingAnEntrysBytesIsCaught()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => rows[5].CanonicalBytes = Replace(rows[5].CanonicalBytes, "bank-bri", "bank-bni"), rebuildAndResign: false);
        Assert.Equal(AuditFinding.InclusionProofInvalid, await scene.AuditAsync());
    }

    [Fact]
    public async Task ChangingAnEntrysBytesAndRebuildingTheTreeIsCaught()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => rows[5].CanonicalBytes = Replace(rows[5].CanonicalBytes, "bank-bri", "bank-bni"), rebuildAndResign: true);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, await scene.AuditAsync());
    }

    [Fact]
    public async Task DeletingAnEntryIsCaughtEvenWhenTheSizeIsMadeUp()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(
            rows =>
            {
                rows.RemoveAt(7);
                var filler = rows[^1].Copy();
                filler.EventId = Guid.NewGuid();
                filler.CanonicalBytes = Replace(filler.CanonicalBytes, rows[^1].EventId.ToString("D"), filler.EventId.ToString("D"));
                rows.Add(filler);
            },
            rebuildAndResign: true);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, await scene.AuditAsync());
    }

    [Fact]
    public async Task DeletingAnEntryAndShrinkingIsCaught()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => rows.RemoveRange(7, 2), rebuildAndResign: true);
        Assert.Equal(AuditFinding.TreeShrank, await scene.AuditAsync());
    }

    [Fact]
    public async Task SwappingTwoEntriesIsCaught()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => (rows[3], rows[11]) = (rows[11], rows[3]), rebuildAndResign: true);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, await scene.AuditAsync());
    }

    [Fact]
    public async Task TruncatingTheTailWithItsHeadsIsRefusedByTheLogItselfAndCaughtByTheAuditor()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => rows.RemoveRange(10, rows.Count - 10), rebuildAndResign: true);

        // The log remembers the newest head it published outside the database: it will not sign over the rollback.
        var integrity = await scene.Host.WaitForIntegrityAsync(intact: false);
        Assert.Contains("rolled back", integrity.Problem, StringComparison.Ordinal);
        Assert.Equal(AuditFinding.TreeShrank, await scene.AuditAsync());
    }

    [Fact]
    public async Task TruncatingTheTailAndRegrowingItDifferentlyIsCaughtWhenTheOperatorAlsoErasesThePublishedHead()
    {
        await using var scene = await Scene.StartAsync();
        await scene.TamperAsync(rows => rows.RemoveRange(10, rows.Count - 10), rebuildAndResign: true, erasePublishedHead: true);

        // The log grows again past the auditor's head, honestly appended and signed from here on.
        await scene.Host.PublishAsync([.. Enumerable.Range(0, 9).Select(i => SampleEvents.Denial($"regrown-{i}"))]);
        await scene.Host.WaitForTreeHeadAsync(19);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, await scene.AuditAsync());
    }

    private static byte[] Replace(byte[] bytes, string from, string to)
    {
        var text = Encoding.UTF8.GetString(bytes);
        Assert.Contains(from, text, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }

    /// <summary>A log of <see cref="LogSize"/> entries, an auditor holding its signed head, and the operator's tools.</summary>
    private sealed class Scene : IAsyncDisposable
    {
        private Scene(AuditTestHost host, ApiSignedTreeHead trusted)
        {
            Host = host;
            Trusted = trusted;
        }

        public AuditTestHost Host { get; }

        public ApiSignedTreeHead Trusted { get; }

        public static async Task<Scene> StartAsync()
        {
            var host = await AuditTestHost.StartAsync();
            await host.PublishAsync([.. Enumerable.Range(0, LogSize).Select(i => SampleEvents.Denial($"shared-{i}"))]);
            var scene = new Scene(host, await host.WaitForTreeHeadAsync(LogSize));
            await host.PublishAsync(SampleEvents.Denial("after"));
            await host.WaitForTreeHeadAsync(LogSize + 1);
            Assert.Equal(AuditFinding.Verified, await scene.AuditAsync()); // the honest log passes
            return scene;
        }

        /// <summary>What an auditor runs with the head it kept: is the latest head a signed extension of it, and is every entry it covers still there?</summary>
        public async Task<AuditFinding> AuditAsync()
        {
            using var verifier = TreeHeadVerifier.FromPublicKeyPem(Host.PublicKeyPem);
            var auditor = new LogAuditor(verifier);
            var client = Host.Auditor();
            var trusted = Trusted.ToVerifier();
            var latest = (await client.GetTreeHeadAsync(new GetTreeHeadRequest())).TreeHead.ToVerifier();
            if (latest.Head.TreeSize < trusted.Head.TreeSize)
            {
                return auditor.CheckGrowth(trusted, latest, []);
            }

            var consistency = await client.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = trusted.Head.TreeSize, SecondSize = latest.Head.TreeSize });
            var growth = auditor.CheckGrowth(trusted, latest, consistency.Proof.Path.Hashes());
            if (growth != AuditFinding.Verified)
            {
                return growth;
            }

            for (long i = 0; i < trusted.Head.TreeSize; i++)
            {
                var inclusion = await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = i, TreeSize = trusted.Head.TreeSize });
                var finding = auditor.CheckEntry(trusted, inclusion.Entry.CanonicalBytes.Span, i, inclusion.Proof.AuditPath.Hashes());
                if (finding != AuditFinding.Verified)
                {
                    return finding;
                }
            }

            return AuditFinding.Verified;
        }

        /// <summary>
        /// Stops the host, rewrites the stored entries, optionally recomputes every hash and signs a new head with the
        /// log's own key (a malicious operator covering its tracks), and starts the host on the rewritten log.
        /// </summary>
        public async Task TamperAsync(Action<List<StoredRow>> rewrite, bool rebuildAndResign, bool erasePublishedHead = false)
        {
            await Host.StopAsync();
            if (erasePublishedHead) File.Delete(Path.Combine(Path.GetDirectoryName(Host.SigningKeyPath)!, "published-head.json"));
            await using (var connection = new SqliteConnection($"Data Source={Host.DatabasePath};Pooling=False"))
            {
                await connection.OpenAsync();
                await Execute(connection, "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete; DROP TRIGGER audit_subtree_hashes_no_delete; DROP TRIGGER audit_tree_heads_no_delete;");
                var rows = await StoredRow.ReadAllAsync(connection);
                var originalCount = rows.Count;
                rewrite(rows);
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
                await Execute(connection, "DELETE FROM audit_entries", transaction);
                for (var i = 0; i < rows.Count; i++)
                {
                    rows[i].Index = i;
                    if (rebuildAndResign)
                    {
                        rows[i].LeafHash = Rfc6962.HashLeaf(rows[i].CanonicalBytes);
                    }

                    await rows[i].InsertAsync(connection, transaction);
                }

                if (rebuildAndResign)
                {
                    await Execute(connection, "DELETE FROM audit_subtree_hashes; DELETE FROM audit_tree_heads;", transaction);
                    var store = new InMemorySubtreeHashStore();
                    foreach (var row in rows)
                    {
                        foreach (var node in store.AppendLeafHash(row.LeafHash).Where(n => n.Address.Level > 0))
                        {
                            await Execute(connection, $"INSERT INTO audit_subtree_hashes (level, node_index, hash) VALUES ({node.Address.Level}, {node.Address.Index}, x'{Convert.ToHexString(node.Hash)}')", transaction);
                        }
                    }

                    using var signer = TreeHeadSigner.FromPrivateKeyPem(await File.ReadAllTextAsync(Host.SigningKeyPath));
                    var root = await new MerkleLogTree(store).RootAsync(rows.Count);
                    var head = signer.Sign(new TreeHead(rows.Count, DateTimeOffset.UtcNow, root));
                    await Execute(connection, $"INSERT INTO audit_tree_heads (tree_size, root_hash, timestamp_ms, signature, key_id) VALUES ({rows.Count}, x'{Convert.ToHexString(root)}', {head.Head.TimestampMilliseconds}, x'{Convert.ToHexString(head.Signature)}', '{Trusted.KeyId}')", transaction);
                }

                await transaction.CommitAsync();
                Assert.True(rebuildAndResign || rows.Count == originalCount);
            }

            await Host.StartAsync();
        }

        public ValueTask DisposeAsync() => Host.DisposeAsync();

        private static async Task Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>One row of audit_entries, every column, as the operator sees it.</summary>
    private sealed class StoredRow
    {
        private object[] _columns = [];
        private string[] _names = [];

        public long Index { get; set; }

        public Guid EventId { get; set; }

        public byte[] CanonicalBytes { get; set; } = [];

        public byte[] LeafHash { get; set; } = [];

        public static async Task<List<StoredRow>> ReadAllAsync(SqliteConnection connection)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM audit_entries ORDER BY entry_index";
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<StoredRow>();
            while (await reader.ReadAsync())
            {
                var columns = new object[reader.FieldCount];
                reader.GetValues(columns);
                var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
                rows.Add(new StoredRow
                {
                    _columns = columns,
                    _names = names,
                    Index = (long)columns[Array.IndexOf(names, "entry_index")],
                    EventId = Guid.Parse((string)columns[Array.IndexOf(names, "event_id")]),
                    CanonicalBytes = (byte[])columns[Array.IndexOf(names, "canonical_bytes")],
                    LeafHash = (byte[])columns[Array.IndexOf(names, "leaf_hash")],
                });
            }

            return rows;
        }

        public StoredRow Copy() => new() { _columns = [.. _columns], _names = _names, Index = Index, EventId = EventId, CanonicalBytes = CanonicalBytes, LeafHash = LeafHash };

        public async Task InsertAsync(SqliteConnection connection, SqliteTransaction transaction)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"INSERT INTO audit_entries ({string.Join(", ", _names)}) VALUES ({string.Join(", ", _names.Select(n => "@" + n))})";
            for (var i = 0; i < _names.Length; i++)
            {
                object value = _names[i] switch
                {
                    "entry_index" => Index,
                    "event_id" => EventId.ToString("D").ToUpperInvariant(),
                    "canonical_bytes" => CanonicalBytes,
                    "leaf_hash" => LeafHash,
                    _ => _columns[i],
                };
                command.Parameters.AddWithValue("@" + _names[i], value);
            }

            await command.ExecuteNonQueryAsync();
        }
    }
}
