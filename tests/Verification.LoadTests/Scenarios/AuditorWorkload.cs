using System.Collections.Concurrent;
using Verification.Api.Audit.V1;
using Verification.Audit.Verifier;
using Verification.LoadTests.Harness;
using Grpc.Core;
using Verification.Api;
using VerifiedTreeHead = Verification.Audit.Verifier.SignedTreeHead;
using Verification.Api.Channels;

namespace Verification.LoadTests.Scenarios;

/// <summary>
/// Auditors (auditor-bpk) tracing loans while the banks work, and checking the log as they go: every new signed tree
/// head must be consistent with the previous one, and random entries must be proved included. Nothing is trusted but
/// the log's public key.
/// </summary>
public sealed class AuditorWorkload(Suite suite, RpcStats stats, KurLedger? ledger)
{
    private readonly ConcurrentQueue<string> findings = new();
    private long proofsChecked;

    public IReadOnlyCollection<string> Findings => findings;

    public long ProofsChecked => Interlocked.Read(ref proofsChecked);

    public async Task RunCallerAsync(CancellationToken stop)
    {
        var client = new AuditService.AuditServiceClient(suite.Channel("audit", "auditor-bpk"));
        using var verifier = TreeHeadVerifier.FromPublicKeyPem(suite.AuditPublicKeyPem);
        var auditor = new LogAuditor(verifier);
        VerifiedTreeHead? last = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (ledger?.RandomAnswered() is { } loan)
                {
                    await stats.TimeAsync("audit.Trace (by loan)", async () =>
                    {
                        using var call = client.Trace(new TraceRequest { LoanReference = loan.Request.LoanReference, Limit = 10 }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), stop));
                        var n = 0;
                        while (await call.ResponseStream.MoveNext(stop)) n++;
                        return n;
                    });
                }

                var proto = (await stats.TimeAsync("audit.GetTreeHead", () => client.GetTreeHeadAsync(new GetTreeHeadRequest(), RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), stop)).ResponseAsync)).TreeHead;
                if (proto is null || proto.TreeSize == 0) continue;
                var head = ToVerified(proto);
                if (!verifier.Verify(head)) findings.Enqueue($"tree head of size {head.Head.TreeSize}: signature does not verify");
                if (last is not null && head.Head.TreeSize > last.Head.TreeSize)
                {
                    var consistency = await stats.TimeAsync("audit.GetConsistencyProof", () => client.GetConsistencyProofAsync(
                        new GetConsistencyProofRequest { FirstSize = last.Head.TreeSize, SecondSize = head.Head.TreeSize }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), stop)).ResponseAsync);
                    var finding = auditor.CheckGrowth(last, head, [.. consistency.Proof.Path.Select(p => p.ToByteArray())]);
                    if (finding != AuditFinding.Verified) findings.Enqueue($"tree {last.Head.TreeSize} -> {head.Head.TreeSize}: {finding}");
                    Interlocked.Increment(ref proofsChecked);
                }

                var index = Random.Shared.NextInt64(head.Head.TreeSize);
                var inclusion = await stats.TimeAsync("audit.GetInclusionProof", () => client.GetInclusionProofAsync(
                    new GetInclusionProofRequest { Index = index, TreeSize = head.Head.TreeSize }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), stop)).ResponseAsync);
                var included = auditor.CheckEntry(head, inclusion.Entry.CanonicalBytes.Span, index, [.. inclusion.Proof.AuditPath.Select(p => p.ToByteArray())]);
                if (included != AuditFinding.Verified) findings.Enqueue($"entry {index} in tree {head.Head.TreeSize}: {included}");
                Interlocked.Increment(ref proofsChecked);
                if (last is null || head.Head.TreeSize >= last.Head.TreeSize) last = head;
            }
            catch (RpcException)
            {
                // Counted by status in the statistics; an auditor simply asks again.
                await Task.Delay(200, CancellationToken.None);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }

    public static VerifiedTreeHead ToVerified(Verification.Api.Audit.V1.SignedTreeHead head) =>
        new(new TreeHead(head.TreeSize, DateTimeOffset.FromUnixTimeMilliseconds(head.Timestamp.ToDateTimeOffset().ToUnixTimeMilliseconds()), head.RootHash.Span), head.Signature.Span);
}

/// <summary>A load balancer's health probes: every module, anonymously, over and over.</summary>
public sealed class HealthWorkload(Suite suite, RpcStats stats)
{
    public async Task RunAsync(CancellationToken stop)
    {
        var channels = suite.Hosts.Values.ToDictionary(h => h.Module, h => new VerificationChannel(h.Address, new ChannelSettings { RetryUnavailable = false }));
        try
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var host in suite.Hosts.Values)
                {
                    try
                    {
                        await stats.TimeAsync("health.Check", () => new Grpc.Health.V1.Health.HealthClient(channels[host.Module]).CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = host.ServiceName }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(2), stop)).ResponseAsync);
                    }
                    catch (RpcException)
                    {
                    }
                }

                await Task.Delay(20, CancellationToken.None);
            }
        }
        finally
        {
            foreach (var channel in channels.Values) channel.Dispose();
        }
    }
}
