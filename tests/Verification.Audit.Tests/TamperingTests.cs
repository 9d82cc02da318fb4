using System.Text;
using Verification.Audit.Verifier;
using static Verification.Audit.Tests.Fixtures;

namespace Verification.Audit.Tests;

/// <summary>
/// An auditor keeps a signed tree head from before the tampering; the log is then rewritten and the
/// server (signing key and all) serves proofs from the rewritten log. Every rewrite must be caught.
/// </summary>
public sealed class TamperingTests : IDisposable
{
    private const int LogSize = 50;

    private static readonly DateTimeOffset Before = new(2025, 6, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset After = Before.AddHours(1);

    private readonly TreeHeadSigner _signer = TreeHeadSigner.Generate();
    private readonly TreeHeadVerifier _verifier;
    private readonly LogAuditor _auditor;
    private readonly List<byte[]> _entries = Entries(LogSize);
    private readonly SignedTreeHead _headBeforeTampering;

    public TamperingTests()
    {
        _verifier = TreeHeadVerifier.FromPublicKeyPem(_signer.ExportPublicKeyPem());
        _auditor = new LogAuditor(_verifier);
        _headBeforeTampering = HeadOf(StoreOf(_entries), Before);
    }

    public void Dispose()
    {
        _signer.Dispose();
        _verifier.Dispose();
    }

    private SignedTreeHead HeadOf(InMemorySubtreeHashStore store, DateTimeOffset at, long? size = null)
    {
        var treeSize = size ?? store.Size;
        return _signer.Sign(new TreeHead(treeSize, at, Sync(new MerkleLogTree(store).RootAsync(treeSize))));
    }

    private AuditFinding Growth(InMemorySubtreeHashStore served) =>
        _auditor.CheckGrowth(
            _headBeforeTampering,
            HeadOf(served, After),
            Sync(new MerkleLogTree(served).ConsistencyProofAsync(Math.Min(LogSize, served.Size), served.Size)));

    private AuditFinding Entry(InMemorySubtreeHashStore served, byte[] entry, int index) =>
        _auditor.CheckEntry(_headBeforeTampering, entry, index, Sync(new MerkleLogTree(served).InclusionProofAsync(index, LogSize)));

    [Fact]
    public void TheUntamperedLogPassesEveryCheck()
    {
        var honest = StoreOf(_entries);
        honest.Append("event 50"u8);

        Assert.Equal(AuditFinding.Verified, Growth(honest));
        for (var i = 0; i < LogSize; i++)
        {
            Assert.Equal(AuditFinding.Verified, Entry(honest, _entries[i], i));
        }
    }

    [Fact]
    public void ChangingTheBytesOfAnEntryIsCaught()
    {
        var rewritten = _entries.ToList();
        rewritten[17] = Encoding.UTF8.GetBytes("event 17, amount corrected");
        var served = StoreOf(rewritten);

        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(served, rewritten[17], 17));
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(served));

        // The rewritten root poisons every proof the server can now give, not just the altered leaf's.
        for (var i = 0; i < LogSize; i++)
        {
            Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(served, rewritten[i], i));
        }
    }

    [Fact]
    public void ChangingASingleBitOfAnEntryIsCaught()
    {
        var rewritten = _entries.Select(e => e.ToArray()).ToList();
        rewritten[49][0] ^= 1;

        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(StoreOf(rewritten), rewritten[49], 49));
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(StoreOf(rewritten)));
    }

    [Fact]
    public void DeletingAnEntryIsCaught()
    {
        var rewritten = _entries.ToList();
        rewritten.RemoveAt(17);

        // Served as is, the log is shorter than the head the auditor holds.
        Assert.Equal(AuditFinding.TreeShrank, Growth(StoreOf(rewritten)));

        // Padded back to the old size, or grown past it, the history no longer matches.
        var padded = StoreOf(rewritten);
        padded.Append("event 50"u8);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(padded));
        padded.Append("event 51"u8);
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(padded));

        // The entry after the gap has moved up one place, which the old head disproves.
        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(padded, _entries[18], 17));
    }

    [Fact]
    public void SwappingTwoEntriesIsCaught()
    {
        var rewritten = _entries.ToList();
        (rewritten[10], rewritten[11]) = (rewritten[11], rewritten[10]);
        var served = StoreOf(rewritten);

        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(served, _entries[11], 10));
        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(served, _entries[10], 11));
        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(served));
    }

    [Fact]
    public void TruncatingTheTailAndRegrowingItDifferentlyIsCaughtButTheUntouchedPrefixStillProves()
    {
        var regrown = StoreOf(_entries.Take(40));
        foreach (var entry in Entries(15, "rewritten"))
        {
            regrown.Append(entry);
        }

        Assert.Equal(AuditFinding.ConsistencyProofInvalid, Growth(regrown));
        Assert.Equal(AuditFinding.InclusionProofInvalid, Entry(regrown, _entries[5], 5));

        // A head taken at 40 leaves, before the rewritten part, is still consistent: the check is precise, not paranoid.
        var headAtForty = HeadOf(StoreOf(_entries), Before, size: 40);
        Assert.Equal(
            AuditFinding.Verified,
            _auditor.CheckGrowth(headAtForty, HeadOf(regrown, After), Sync(new MerkleLogTree(regrown).ConsistencyProofAsync(40, regrown.Size))));
    }

    [Fact]
    public void AHeadSignedByAnotherKeyIsRejectedBeforeAnyProofIsTrusted()
    {
        using var impostor = TreeHeadSigner.Generate();
        var honest = StoreOf(_entries);
        var forged = impostor.Sign(new TreeHead(LogSize, After, Sync(new MerkleLogTree(honest).RootAsync(LogSize))));

        Assert.Equal(AuditFinding.SignatureInvalid, _auditor.CheckGrowth(_headBeforeTampering, forged, []));
        Assert.Equal(AuditFinding.SignatureInvalid, _auditor.CheckEntry(forged, _entries[0], 0, Sync(new MerkleLogTree(honest).InclusionProofAsync(0, LogSize))));
    }

    [Fact]
    public void AnEntryOutsideTheSignedTreeAndAHeadFromThePastAreReported()
    {
        var honest = StoreOf(_entries);

        Assert.Equal(AuditFinding.LeafOutsideTree, _auditor.CheckEntry(_headBeforeTampering, "event 50"u8, LogSize, []));
        Assert.Equal(
            AuditFinding.TimestampWentBackwards,
            _auditor.CheckGrowth(_headBeforeTampering, HeadOf(honest, Before.AddMinutes(-1)), []));
    }
}
