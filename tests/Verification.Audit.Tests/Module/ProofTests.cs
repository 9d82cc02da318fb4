using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Grpc.Core;
using Verification.Api;
using ApiSignedTreeHead = Verification.Api.Audit.V1.SignedTreeHead;

namespace Verification.Audit.Tests.Module;

/// <summary>Proofs fetched through the wire and checked with the trust-nobody verifier, against the public key file alone.</summary>
public sealed class ProofTests
{
    [Fact]
    public async Task InclusionAndConsistencyProofsVerifyAtTheRfc6962EdgeSizesAndARandomSize()
    {
        var random = new Random(20250601);
        var randomSize = random.Next(10, 1000);
        long[] sizes = [1, 2, 3, 7, 8, 9, randomSize, 1000];
        await using var host = await AuditTestHost.StartAsync();
        var auditor = host.Auditor();
        using var verifier = TreeHeadVerifier.FromPublicKeyPem(host.PublicKeyPem);
        var logAuditor = new LogAuditor(verifier);

        var heads = new List<ApiSignedTreeHead> { await host.WaitForTreeHeadAsync(0) };
        long size = 0;
        foreach (var target in sizes.Order())
        {
            var events = Enumerable.Range(0, (int)(target - size)).Select(i => SampleEvents.Denial($"proof-{size + i}")).ToArray();
            await host.PublishAsync(events);
            heads.Add(await host.WaitForTreeHeadAsync(target));
            size = target;
        }

        foreach (var head in heads)
        {
            var signed = head.ToVerifier();
            Assert.True(verifier.Verify(signed), $"head {head.TreeSize} signature");

            // Every leaf of the small trees; the edges, powers of two and a sample of the large ones.
            var leaves = head.TreeSize <= 16
                ? Enumerable.Range(0, (int)head.TreeSize).Select(i => (long)i)
                : new long[] { 0, 1, head.TreeSize / 2, head.TreeSize - 2, head.TreeSize - 1, 511, 512 }
                    .Concat(Enumerable.Range(0, 20).Select(_ => random.NextInt64(head.TreeSize)))
                    .Where(i => i < head.TreeSize)
                    .Distinct();
            foreach (var leaf in leaves)
            {
                var answer = await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { Index = leaf, TreeSize = head.TreeSize });
                Assert.Equal(leaf, answer.Proof.LeafIndex);
                Assert.Equal(head.TreeSize, answer.Proof.TreeSize);
                Assert.Equal(AuditFinding.Verified, logAuditor.CheckEntry(signed, answer.Entry.CanonicalBytes.Span, leaf, answer.Proof.AuditPath.Hashes()));

                // The same entry found by its event id proves the same way.
                var byId = await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { EventId = answer.Entry.EventId, TreeSize = head.TreeSize });
                Assert.Equal(answer.Proof, byId.Proof);
            }
        }

        foreach (var earlier in heads)
        {
            foreach (var later in heads.Where(h => h.TreeSize >= earlier.TreeSize))
            {
                var proof = await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = earlier.TreeSize, SecondSize = later.TreeSize });
                Assert.Equal(
                    AuditFinding.Verified,
                    logAuditor.CheckGrowth(earlier.ToVerifier(), later.ToVerifier(), proof.Proof.Path.Hashes()));
            }
        }

        // tree_size 0 and second_size 0 mean the latest signed head.
        var latest = await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { Index = 5 });
        Assert.Equal(1000, latest.Proof.TreeSize);
        var toLatest = await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = 7 });
        Assert.Equal(1000, toLatest.Proof.SecondSize);
    }

    [Fact]
    public async Task ProofsBeyondTheSignedTreeOrOfUnknownEntriesAreRefusedWithTheDocumentedCodes()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.PublishAsync(SampleEvents.Denial("a"), SampleEvents.Denial("b"), SampleEvents.Denial("c"));
        await host.WaitForTreeHeadAsync(3);
        var auditor = host.Auditor();

        async Task<StatusCode> Code(Func<Task> call) => (await Assert.ThrowsAsync<RpcException>(call)).StatusCode;

        Assert.Equal(StatusCode.OutOfRange, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { Index = 0, TreeSize = 4 })));
        Assert.Equal(StatusCode.OutOfRange, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { Index = 3 })));
        Assert.Equal(StatusCode.OutOfRange, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { Index = 2, TreeSize = 2 })));
        Assert.Equal(StatusCode.NotFound, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { EventId = Guid.NewGuid().ToString() })));
        Assert.Equal(StatusCode.OutOfRange, await Code(async () => await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = 2, SecondSize = 4 })));
        Assert.Equal(StatusCode.OutOfRange, await Code(async () => await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = 3, SecondSize = 2 })));
        Assert.Equal(StatusCode.InvalidArgument, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { TreeSize = 3 })));
        Assert.Equal(StatusCode.InvalidArgument, await Code(async () => await auditor.GetInclusionProofAsync(new GetInclusionProofRequest { EventId = "not-a-uuid" })));
        Assert.Equal(StatusCode.InvalidArgument, await Code(async () => await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = -1 })));

        // Trivial consistency proofs are empty, as RFC 6962 has them.
        Assert.Empty((await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = 0, SecondSize = 3 })).Proof.Path);
        Assert.Empty((await auditor.GetConsistencyProofAsync(new GetConsistencyProofRequest { FirstSize = 3, SecondSize = 3 })).Proof.Path);
    }

    [Fact]
    public async Task TheSignedHeadVerifiesAgainstThePublicKeyWrittenBesideTheDevelopmentKeyAndNamesIt()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.PublishAsync(SampleEvents.Denial());
        var head = await host.WaitForTreeHeadAsync(1);

        using var verifier = TreeHeadVerifier.FromPublicKeyPem(host.PublicKeyPem);
        Assert.True(verifier.Verify(head.ToVerifier()));
        Assert.Equal(Audit.Features.Keys.AuditKeys.KeyId(host.PublicKeyPem), head.KeyId);
        Assert.Matches("^[0-9a-f]{64}$", head.KeyId);
        Assert.Equal(32, head.RootHash.Length);

        // The root is the RFC 6962 hash of the one entry's canonical bytes.
        var entry = (await host.Auditor().GetEntriesAsync(new GetEntriesRequest { FromIndex = 0, Count = 10 })).Entries.Single();
        Assert.Equal(Rfc6962.HashLeaf(entry.CanonicalBytes.Span), head.RootHash.ToByteArray());

        // A different key does not verify it.
        using var other = TreeHeadSigner.Generate();
        using var wrong = TreeHeadVerifier.FromPublicKeyPem(other.ExportPublicKeyPem());
        Assert.False(wrong.Verify(head.ToVerifier()));

        // openssl alone checks it, from the public key file and the documented 74 bytes.
        var work = Directory.CreateTempSubdirectory("audit-openssl-").FullName;
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(work, "head.bin"), head.ToVerifier().Head.Encode());
            await File.WriteAllBytesAsync(Path.Combine(work, "sig.der"), head.Signature.ToByteArray());
            await File.WriteAllTextAsync(Path.Combine(work, "pub.pem"), host.PublicKeyPem);
            using var openssl = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("openssl", ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "head.bin"])
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
            })!;
            var verdict = await openssl.StandardOutput.ReadToEndAsync();
            await openssl.WaitForExitAsync();
            Assert.Equal("Verified OK", verdict.Trim());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        // The development key survives a restart: heads before and after verify under the same public key.
        await host.StopAsync();
        await host.StartAsync();
        await host.PublishAsync(SampleEvents.Denial());
        Assert.True(verifier.Verify((await host.WaitForTreeHeadAsync(2)).ToVerifier()));
    }
}
