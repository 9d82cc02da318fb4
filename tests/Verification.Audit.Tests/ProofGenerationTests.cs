using Verification.Audit.Verifier;
using static Verification.Audit.Tests.Fixtures;

namespace Verification.Audit.Tests;

public class ProofGenerationTests
{
    private const int RandomSeed = 6962;

    private static readonly int RandomSize = new Random(RandomSeed).Next(20, 700);

    public static TheoryData<int> EdgeSizes => new(1, 2, 3, 7, 8, 9, 1000, RandomSize);

    // Small logs: every tree size; large ones: sizes around the powers of two and the whole log.
    private static IEnumerable<int> TreeSizesToCheck(int logSize) =>
        logSize <= 64
            ? Enumerable.Range(1, logSize)
            : new[] { 1, 2, 3, logSize / 2, logSize / 2 + 1, 511, 512, 513, logSize - 1, logSize }.Where(s => s >= 1 && s <= logSize).Distinct();

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void RootsFromTheStoreAgreeWithTheRfcDefinitionAtEverySize(int logSize)
    {
        var entries = Entries(logSize);
        var tree = new MerkleLogTree(StoreOf(entries));
        var reference = new ReferenceMerkleTree(entries);

        for (var size = 0; size <= logSize; size++)
        {
            Assert.Equal(Hex(reference.Root(size)), Hex(Sync(tree.RootAsync(size))));
        }
    }

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void EveryLeafsInclusionProofEqualsRfcPathAndVerifies(int logSize)
    {
        var entries = Entries(logSize);
        var tree = new MerkleLogTree(StoreOf(entries));
        var reference = new ReferenceMerkleTree(entries);

        foreach (var size in logSize == 1000 ? [1000, 999, 513] : TreeSizesToCheck(logSize))
        {
            var root = reference.Root(size);
            for (var index = 0; index < size; index++)
            {
                var proof = Sync(tree.InclusionProofAsync(index, size));

                Assert.Equal(reference.Path(index, size).Select(Hex), proof.Select(Hex));
                Assert.True(MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(entries[index]), index, size, proof, root), $"leaf {index} of {size}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(EdgeSizes))]
    public void AProofForOneLeafDoesNotVerifyForItsNeighbour(int logSize)
    {
        var entries = Entries(logSize);
        var tree = new MerkleLogTree(StoreOf(entries));
        var root = Sync(tree.RootAsync(logSize));

        for (var index = 0; index + 1 < logSize; index++)
        {
            var proof = Sync(tree.InclusionProofAsync(index, logSize));
            Assert.False(MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(entries[index + 1]), index, logSize, proof, root));
            Assert.False(MerkleVerifier.VerifyInclusion(Rfc6962.HashLeaf(entries[index]), index + 1, logSize, proof, root));
        }
    }

    [Fact]
    public void ConsistencyProofsEqualRfcProofAndVerifyForEveryPairUpToTwenty()
    {
        var entries = Entries(20);
        var tree = new MerkleLogTree(StoreOf(entries));
        var reference = new ReferenceMerkleTree(entries);

        for (var newSize = 0; newSize <= 20; newSize++)
        {
            for (var oldSize = 0; oldSize <= newSize; oldSize++)
            {
                var proof = Sync(tree.ConsistencyProofAsync(oldSize, newSize));

                var expected = oldSize == 0 ? [] : reference.Proof(oldSize, newSize);
                Assert.Equal(expected.Select(Hex), proof.Select(Hex));
                Assert.True(
                    MerkleVerifier.VerifyConsistency(oldSize, newSize, reference.Root(oldSize), reference.Root(newSize), proof),
                    $"{oldSize} -> {newSize}");
            }
        }
    }

    [Fact]
    public void ConsistencyProofsEqualRfcProofAndVerifyForRandomPairsUpToAThousand()
    {
        var entries = Entries(1000);
        var tree = new MerkleLogTree(StoreOf(entries));
        var reference = new ReferenceMerkleTree(entries);
        var random = new Random(RandomSeed);
        var pairs = Enumerable.Range(0, 150)
            .Select(_ => random.Next(1, 1001))
            .Select(newSize => (Old: random.Next(1, newSize + 1), New: newSize))
            .Concat([(1, 1000), (512, 1000), (999, 1000), (511, 512), (513, 1000), (1000, 1000)]);

        foreach (var (oldSize, newSize) in pairs)
        {
            var proof = Sync(tree.ConsistencyProofAsync(oldSize, newSize));

            Assert.Equal(reference.Proof(oldSize, newSize).Select(Hex), proof.Select(Hex));
            Assert.True(
                MerkleVerifier.VerifyConsistency(oldSize, newSize, reference.Root(oldSize), reference.Root(newSize), proof),
                $"{oldSize} -> {newSize}");
        }
    }

    [Fact]
    public void EverySubtreeHashAnAppendPersistsIsTheMthOfItsLeaves()
    {
        var entries = Entries(300);
        var reference = new ReferenceMerkleTree(entries);
        var store = new InMemorySubtreeHashStore();
        var persisted = new List<SubtreeHash>();
        foreach (var entry in entries)
        {
            persisted.AddRange(store.Append(entry));
        }

        // 300 leaves hold 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 complete subtrees.
        Assert.Equal(596, persisted.Count);
        Assert.Equal(persisted.Count, persisted.Select(p => p.Address).Distinct().Count());
        foreach (var node in persisted)
        {
            Assert.Equal(Hex(reference.Mth((int)node.Address.FirstLeaf, (int)node.Address.EndLeaf)), Hex(node.Hash));
        }
    }

    [Fact]
    public void AppendingThroughTheStoreInterfaceComputesWhatTheReferenceStorePersists()
    {
        var store = new InMemorySubtreeHashStore();
        var counting = new CountingStore(store);
        var tree = new MerkleLogTree(counting);

        foreach (var entry in Entries(100))
        {
            var size = store.Size;
            var leafHash = Rfc6962.HashLeaf(entry);
            counting.Reset();

            var computed = Sync(tree.ComputeAppendAsync(size, leafHash));

            // One read per subtree the new leaf completes: the trailing 1-bits of the old size.
            Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount(~(ulong)size), counting.AddressesRead);
            var persisted = store.AppendLeafHash(leafHash);
            Assert.Equal(persisted.Select(p => (p.Address, Hex(p.Hash))), computed.Select(p => (p.Address, Hex(p.Hash))));
        }
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(4097)]
    public void EveryProofIsOneBatchedReadOfLogarithmicallyManyHashes(int logSize)
    {
        var counting = new CountingStore(StoreOf(Entries(logSize)));
        var tree = new MerkleLogTree(counting);
        var bound = 2 * (int)Math.Ceiling(Math.Log2(logSize)) + 2;
        var random = new Random(RandomSeed);

        for (var i = 0; i < 200; i++)
        {
            var size = random.Next(1, logSize + 1);
            var index = random.Next(0, size);
            var oldSize = random.Next(1, size + 1);

            counting.Reset();
            Sync(tree.InclusionProofAsync(index, size));
            Assert.Equal(1, counting.Calls);
            Assert.InRange(counting.AddressesRead, 0, bound);

            counting.Reset();
            Sync(tree.ConsistencyProofAsync(oldSize, size));
            Assert.InRange(counting.Calls, 0, 1);
            Assert.InRange(counting.AddressesRead, 0, bound);

            counting.Reset();
            Sync(tree.RootAsync(size));
            Assert.Equal(1, counting.Calls);
            Assert.Equal(System.Numerics.BitOperations.PopCount((ulong)size), counting.AddressesRead);
        }
    }

    [Fact]
    public void TheStoreRefusesToInventSubtreesItDoesNotHold()
    {
        var tree = new MerkleLogTree(StoreOf(Entries(5)));

        Assert.Throws<KeyNotFoundException>(() => Sync(tree.RootAsync(6)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sync(tree.InclusionProofAsync(5, 5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sync(tree.ConsistencyProofAsync(6, 5)));
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 2)]
    [InlineData(5, 4)]
    [InlineData(8, 4)]
    [InlineData(9, 8)]
    [InlineData(1000, 512)]
    [InlineData(1L << 40, 1L << 39)]
    [InlineData((1L << 40) + 1, 1L << 40)]
    public void TheSplitIsTheLargestPowerOfTwoBelowTheSize(long size, long split) =>
        Assert.Equal(split, Rfc6962.SplitPoint(size));

    [Theory]
    [InlineData(0, 7, "(2,0) (1,2) (0,6)")]
    [InlineData(8, 13, "(2,2) (0,12)")]
    [InlineData(12, 13, "(0,12)")]
    [InlineData(0, 16, "(4,0)")]
    public void ARightEdgeRangeDecomposesIntoItsCompleteSubtreesFromTheLeft(long start, long end, string expected) =>
        Assert.Equal(expected, string.Join(" ", MerkleLogTree.Decompose(start, end).Select(a => $"({a.Level},{a.Index})")));

    [Fact]
    public void ARangeThatIsNoTreeNodeIsRefused() =>
        Assert.Throws<ArgumentException>(() => MerkleLogTree.Decompose(2, 6));
}
