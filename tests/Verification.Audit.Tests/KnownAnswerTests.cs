using System.Text;
using Verification.Audit.Verifier;
using static Verification.Audit.Tests.Fixtures;

namespace Verification.Audit.Tests;

/// <summary>
/// The Certificate Transparency reference vectors, copied as data from transparency-dev/merkle
/// (testonly/constants.go and proof/verify_test.go, the successor of google/certificate-transparency's
/// merkle tests). A tree that agrees with nobody else proves nothing to anybody else.
/// </summary>
public class KnownAnswerTests
{
    private static readonly byte[][] LeafInputs =
    [
        Hex(""),
        Hex("00"),
        Hex("10"),
        Hex("2021"),
        Hex("3031"),
        Hex("40414243"),
        Hex("5051525354555657"),
        Hex("606162636465666768696a6b6c6d6e6f"),
    ];

    // Root hash for each tree size 0..8.
    private static readonly string[] RootHashes =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    // Every complete subtree of the 8-leaf tree: [level][index].
    private static readonly string[][] NodeHashes =
    [
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        [
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        [
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ],
    ];

    // (leaf index, tree size, proof); the Go file numbers leaves from 1, converted to indexes here.
    public static TheoryData<int, int, string[]> InclusionVectors => new()
    {
        { 0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        { 1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 0, 1, [] },
    };

    // (old size, new size, proof).
    public static TheoryData<int, int, string[]> ConsistencyVectors => new()
    {
        { 1, 1, [] },
        { 1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
        { 6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
        { 2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
        { 6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
    };

    private static readonly byte[] SomeHash = Hex("abacaba000000000000000000000000000000000000000000060061e00123456");

    private static readonly InMemorySubtreeHashStore Store = StoreOf(LeafInputs);

    private static readonly MerkleLogTree Tree = new(Store);

    [Fact]
    public void TheEmptyTreeAndTheLeafAndNodePrefixesMatchRfc6962()
    {
        Assert.Equal(RootHashes[0], Hex(Rfc6962.EmptyTreeHash()));
        Assert.Equal(RootHashes[1], Hex(Rfc6962.HashLeaf(LeafInputs[0])));
        Assert.Equal(RootHashes[2], Hex(Rfc6962.HashChildren(Rfc6962.HashLeaf(LeafInputs[0]), Rfc6962.HashLeaf(LeafInputs[1]))));
    }

    [Fact]
    public void RootsAtEverySizeMatchThePublishedRoots()
    {
        for (var size = 0; size <= LeafInputs.Length; size++)
        {
            Assert.Equal(RootHashes[size], Hex(Sync(Tree.RootAsync(size))));
            Assert.Equal(RootHashes[size], Hex(new ReferenceMerkleTree(LeafInputs).Root(size)));
        }
    }

    [Fact]
    public void EveryPersistedSubtreeHashMatchesThePublishedNodeHashes()
    {
        var store = new InMemorySubtreeHashStore();
        var persisted = LeafInputs.SelectMany(entry => store.Append(entry)).ToList();

        Assert.Equal(NodeHashes.Sum(level => level.Length), persisted.Count);
        foreach (var node in persisted)
        {
            Assert.Equal(NodeHashes[node.Address.Level][node.Address.Index], Hex(node.Hash));
        }
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void InclusionProofsMatchAndVerifyThePublishedVectors(int index, int size, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToList();
        var leafHash = Rfc6962.HashLeaf(LeafInputs[index]);
        var root = Hex(RootHashes[size]);

        Assert.Equal(proofHex, Sync(Tree.InclusionProofAsync(index, size)).Select(Hex));
        Assert.True(MerkleVerifier.VerifyInclusion(leafHash, index, size, proof, root));
        Assert.Equal(RootHashes[size], Hex(MerkleVerifier.RootFromInclusionProof(leafHash, index, size, proof)!));
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void CorruptedInclusionProofsAreRejected(int index, int size, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToList();
        var leafHash = Rfc6962.HashLeaf(LeafInputs[index]);
        var root = Hex(RootHashes[size]);

        // The probes of transparency-dev/merkle's corruptInclusionProof.
        var probes = new List<(string What, long Index, long Size, byte[] Leaf, List<byte[]> Proof, byte[] Root)>
        {
            ("index - 1", index - 1, size, leafHash, proof, root),
            ("index + 1", index + 1, size, leafHash, proof, root),
            ("index ^ 2", index ^ 2, size, leafHash, proof, root),
            ("size * 2", index, size * 2, leafHash, proof, root),
            ("size / 2", index, size / 2, leafHash, proof, root),
            ("wrong leaf", index, size, Encoding.ASCII.GetBytes("WrongLeaf"), proof, root),
            ("empty root", index, size, leafHash, proof, Rfc6962.EmptyTreeHash()),
            ("random root", index, size, leafHash, proof, SomeHash),
            ("trailing garbage", index, size, leafHash, [.. proof, []], root),
            ("trailing root", index, size, leafHash, [.. proof, root], root),
            ("preceding garbage", index, size, leafHash, [[], .. proof], root),
            ("preceding root", index, size, leafHash, [root, .. proof], root),
        };
        for (var i = 0; i < proof.Count; i++)
        {
            var flipped = proof.Select(p => p.ToArray()).ToList();
            flipped[i][0] ^= 8;
            probes.Add(($"bit flipped in proof[{i}]", index, size, leafHash, flipped, root));
        }

        if (proof.Count > 0)
        {
            probes.Add(("removed component", index, size, leafHash, proof[..^1], root));
        }

        if (proof.Count > 1)
        {
            probes.Add(("inserted component", index, size, leafHash, [proof[0], SomeHash, .. proof[1..]], root));
        }

        foreach (var probe in probes)
        {
            Assert.False(MerkleVerifier.VerifyInclusion(probe.Leaf, probe.Index, probe.Size, probe.Proof, probe.Root), probe.What);
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void ConsistencyProofsMatchAndVerifyThePublishedVectors(int oldSize, int newSize, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToList();

        Assert.Equal(proofHex, Sync(Tree.ConsistencyProofAsync(oldSize, newSize)).Select(Hex));
        Assert.True(MerkleVerifier.VerifyConsistency(oldSize, newSize, Hex(RootHashes[oldSize]), Hex(RootHashes[newSize]), proof));
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void CorruptedConsistencyProofsAreRejected(int oldSize, int newSize, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToList();
        var oldRoot = Hex(RootHashes[oldSize]);
        var newRoot = Hex(RootHashes[newSize]);
        var wrongRoot = Encoding.ASCII.GetBytes("WrongRoot");
        if (proof.Count == 0)
        {
            return; // as upstream: only non-trivial proofs are corrupted
        }

        // The probes of transparency-dev/merkle's corruptConsistencyProof.
        var probes = new List<(string What, long Old, long New, byte[] OldRoot, byte[] NewRoot, List<byte[]> Proof)>
        {
            ("old size - 1", oldSize - 1, newSize, oldRoot, newRoot, proof),
            ("old size + 1", oldSize + 1, newSize, oldRoot, newRoot, proof),
            ("old size ^ 2", oldSize ^ 2, newSize, oldRoot, newRoot, proof),
            ("new size * 2", oldSize, newSize * 2, oldRoot, newRoot, proof),
            ("new size / 2", oldSize, newSize / 2, oldRoot, newRoot, proof),
            ("wrong old root", oldSize, newSize, wrongRoot, newRoot, proof),
            ("wrong new root", oldSize, newSize, oldRoot, wrongRoot, proof),
            ("swapped roots", oldSize, newSize, newRoot, oldRoot, proof),
            ("empty proof", oldSize, newSize, oldRoot, newRoot, []),
            ("trailing garbage", oldSize, newSize, oldRoot, newRoot, [.. proof, []]),
            ("trailing old root", oldSize, newSize, oldRoot, newRoot, [.. proof, oldRoot]),
            ("trailing new root", oldSize, newSize, oldRoot, newRoot, [.. proof, newRoot]),
            ("preceding garbage", oldSize, newSize, oldRoot, newRoot, [[], .. proof]),
            ("preceding old root", oldSize, newSize, oldRoot, newRoot, [oldRoot, .. proof]),
            ("preceding new root", oldSize, newSize, oldRoot, newRoot, [newRoot, .. proof]),
            ("preceding proof[0]", oldSize, newSize, oldRoot, newRoot, [proof[0], .. proof]),
            ("truncated proof", oldSize, newSize, oldRoot, newRoot, proof[..^1]),
        };
        for (var i = 0; i < proof.Count; i++)
        {
            var flipped = proof.Select(p => p.ToArray()).ToList();
            flipped[i][0] ^= 16;
            probes.Add(($"bit flipped in proof[{i}]", oldSize, newSize, oldRoot, newRoot, flipped));
        }

        foreach (var probe in probes)
        {
            Assert.False(MerkleVerifier.VerifyConsistency(probe.Old, probe.New, probe.OldRoot, probe.NewRoot, probe.Proof), probe.What);
        }
    }

    [Fact]
    public void TrivialConsistencyNeedsEqualRootsOrTheEmptyTreeAndNoProof()
    {
        var empty = Rfc6962.EmptyTreeHash();
        var root1 = Hex(RootHashes[1]);
        var root2 = Hex(RootHashes[2]);

        Assert.True(MerkleVerifier.VerifyConsistency(1, 1, root1, root1, []));
        Assert.True(MerkleVerifier.VerifyConsistency(0, 0, empty, empty, []));
        Assert.True(MerkleVerifier.VerifyConsistency(0, 2, empty, root2, []));

        Assert.False(MerkleVerifier.VerifyConsistency(1, 1, root1, root2, [])); // same size, two roots: a fork
        Assert.False(MerkleVerifier.VerifyConsistency(1, 1, root1, root1, [empty])); // matching roots, but a proof
        Assert.False(MerkleVerifier.VerifyConsistency(0, 2, root1, root2, [])); // an empty tree has the empty root
        Assert.False(MerkleVerifier.VerifyConsistency(0, 2, empty, root2, [empty]));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 0, root1, empty, [])); // time travel
        Assert.False(MerkleVerifier.VerifyConsistency(2, 1, root2, root1, []));
        Assert.False(MerkleVerifier.VerifyConsistency(1, 2, root1, root2, [])); // growth with no proof
        Assert.False(MerkleVerifier.VerifyConsistency(-1, 2, root1, root2, []));
    }

    [Fact]
    public void ASingleLeafTreeHasAnEmptyInclusionProofAndNothingElseVerifies()
    {
        var leaf = Rfc6962.HashLeaf("data"u8);

        Assert.True(MerkleVerifier.VerifyInclusion(leaf, 0, 1, [], leaf));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 1, [], []));
        Assert.False(MerkleVerifier.VerifyInclusion([], 0, 1, [], leaf));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 0, 0, [], leaf));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 1, 0, [], leaf));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, 2, 1, [], leaf));
        Assert.False(MerkleVerifier.VerifyInclusion(leaf, -1, 1, [], leaf));
    }
}
