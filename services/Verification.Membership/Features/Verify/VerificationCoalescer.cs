using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Data;

namespace Verification.Membership.Features.Verify;

/// <summary>
/// Answers single-NIK lookups (VerifyMembership, housing-benefit checks) by coalescing whatever is waiting into one
/// set-based query: under load hundreds of concurrent calls share one round trip, when idle a call goes straight
/// through (no timer, nothing waits for a batch to fill).
/// </summary>
public sealed class VerificationCoalescer(RegistryStore store) : BackgroundService
{
    /// <summary>Most NIKs one coalesced query carries.</summary>
    public const int MaxBatch = 512;

    private readonly Channel<Lookup> _pending = Channel.CreateUnbounded<Lookup>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });

    /// <summary>The coverages of one NIK, or null when it is not registered.</summary>
    public async Task<CoverageSpan[]?> CoveragesAsync(long nik, CancellationToken cancellationToken)
    {
        var lookup = new Lookup(nik, new TaskCompletionSource<CoverageSpan[]?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(lookup)) throw new InvalidOperationException("The registry is shutting down.");
        return await lookup.Result.Task.WaitAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        return Task.WhenAll(Enumerable.Range(0, store.ConcurrentLookups).Select(_ => Task.Run(() => RunAsync(stoppingToken), stoppingToken)));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        while (_pending.Reader.TryRead(out var left)) left.Result.TrySetCanceled(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Lookup>(MaxBatch);
        var niks = new List<long>(MaxBatch);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                niks.Clear();
                while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var lookup))
                {
                    batch.Add(lookup);
                    niks.Add(lookup.Nik);
                }

                if (batch.Count == 0) continue;
                try
                {
                    var found = await store.CoveragesByNikAsync(niks, stoppingToken);
                    foreach (var lookup in batch) lookup.Result.TrySetResult(found.GetValueOrDefault(lookup.Nik));
                }
                catch (Exception ex)
                {
                    foreach (var lookup in batch) lookup.Result.TrySetException(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            foreach (var lookup in batch) lookup.Result.TrySetCanceled(stoppingToken);
        }
    }

    private sealed record Lookup(long Nik, TaskCompletionSource<CoverageSpan[]?> Result);
}
