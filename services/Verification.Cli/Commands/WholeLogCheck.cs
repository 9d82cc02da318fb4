using Grpc.Core;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Verification.Cli.Output;
using VerifiedTreeHead = Verification.Audit.Verifier.SignedTreeHead;

namespace Verification.Cli.Commands;

/// <summary>
/// The entries of a signed tree, checked on the auditor's side: every entry from the last checked one to the head's
/// size is downloaded, its leaf hash recomputed from its canonical bytes, its stated fields compared with those bytes,
/// and the compact range extended; the root must be the signed one. Trusts the log's public key and nothing else.
/// </summary>
public static class WholeLogCheck
{
    /// <summary>Inclusion proofs asked for, at most, to name the first bad entry when the root does not match.</summary>
    public const int MaxLocatingProofs = 2_000;

    /// <summary>Entries asked for in one StreamEntries call.</summary>
    public const int EntriesPerCall = 100_000;

    public sealed record Outcome(CompactRange Range, IReadOnlyList<string> Findings, long Checked);

    public static async Task<Outcome> RunAsync(AuditService.AuditServiceClient client, CompactRange checkedRange, VerifiedTreeHead head, RowCounter counter, CancellationToken cancellationToken, int entriesPerCall = EntriesPerCall)
    {
        var findings = new List<string>();
        var range = checkedRange.Clone();
        var start = range.Size;
        var size = head.Head.TreeSize;
        var leaves = new List<byte[]>();
        if (start < size)
        {
            try
            {
                var expected = start;
                // In ranges, each call under the channel's deadline: one call for a log of millions would outlast any
                // deadline a single call should have (10 M entries failed at 30 s), and a stalled server is still noticed.
                for (var from = start; from < size && expected == from; from = Math.Min(size, from + entriesPerCall))
                {
                    var to = Math.Min(size, from + entriesPerCall);
                    using var call = client.StreamEntries(new StreamEntriesRequest { FromIndex = from, ToIndex = to }, new CallOptions(cancellationToken: cancellationToken));
                    await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                    {
                        foreach (var entry in message.Entries)
                        {
                            if (entry.Index != expected)
                            {
                                findings.Add(entry.Index < expected
                                    ? $"entry {entry.Index} came twice (expected entry {expected} next)"
                                    : $"entry {expected} is missing: the server sent entry {entry.Index} next");
                                return new Outcome(checkedRange, findings, expected - start);
                            }

                            if (AuditCommands.QuickContradictions(entry) is { Count: > 0 } mismatches)
                            {
                                findings.Add($"entry {entry.Index} ({entry.EventType}): the server's {mismatches[0]}");
                                return new Outcome(checkedRange, findings, expected - start);
                            }

                            var leaf = Rfc6962.HashLeaf(entry.CanonicalBytes.Span);
                            range.Append(leaf);
                            if (leaves.Count < MaxLocatingProofs) leaves.Add(leaf);
                            expected++;
                            counter.AddRows();
                        }
                    }
                }

                if (expected != size)
                {
                    findings.Add($"the server sent entries up to {expected - 1} of the {size} its signed head covers");
                    return new Outcome(checkedRange, findings, expected - start);
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.DataLoss)
            {
                findings.Add($"the server says its log is damaged: {ex.Status.Detail}");
                return new Outcome(checkedRange, findings, range.Size - start);
            }
        }

        if (!range.Root().AsSpan().SequenceEqual(head.Head.RootHash))
        {
            findings.Add(await LocateAsync(client, head, start, leaves, cancellationToken));
            return new Outcome(checkedRange, findings, size - start);
        }

        return new Outcome(range, findings, size - start);
    }

    /// <summary>Names the first new entry whose bytes the signed tree does not hold at its index, by asking for inclusion proofs.</summary>
    private static async Task<string> LocateAsync(AuditService.AuditServiceClient client, VerifiedTreeHead head, long start, List<byte[]> leaves, CancellationToken cancellationToken)
    {
        var size = head.Head.TreeSize;
        for (var i = 0; i < leaves.Count; i++)
        {
            var index = start + i;
            GetInclusionProofResponse proof;
            try
            {
                proof = await client.GetInclusionProofAsync(new GetInclusionProofRequest { Index = index, TreeSize = size }, new CallOptions(cancellationToken: cancellationToken));
            }
            catch (RpcException)
            {
                return $"the entries do not give the signed root of {size} entries; the first one without a proof is entry {index}";
            }

            if (!MerkleVerifier.VerifyInclusion(leaves[i], index, size, [.. proof.Proof.AuditPath.Select(p => p.ToByteArray())], head.Head.RootHash))
                return $"entry {index} is not the entry the signed tree holds at that position (altered, moved or inserted)";
        }

        return start == 0
            ? $"the entries do not give the signed root of {size} entries"
            : $"the entries from {start} on do not extend the log you verified before to the signed root of {size} entries";
    }
}
