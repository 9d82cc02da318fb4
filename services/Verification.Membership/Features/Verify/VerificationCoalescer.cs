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

    /// <summary>The person's standing on <paramref name="day"/>, about one program or (null) any.</summary>
    public async Task<MembershipStanding> StandingAsync(Nik nik, CoverageProgram? program, DateOnly day, CancellationToken cancellationToken) =>
        await LookUpAsync(StoredCodes.Nik(nik), cancellationToken) is { } coverages ? MembershipStanding.Of(coverages, program, day) : MembershipStanding.NotRegistered;

    /// <summary>The housing-benefit criteria the person does not meet on <paramref name="day"/>; none when eligible.</summary>
    public async Task<IReadOnlyList<HousingBenefitShortfall>> HousingBenefitShortfallsAsync(Nik nik, DateOnly day, CancellationToken cancellationToken)
    {
        var coverages = await LookUpAsync(StoredCodes.Nik(nik), cancellationToken);
        return HousingBenefitRule.Unmet(coverages ?? [], coverages is not null, day);
    }

    /// <summary>The coverages of one NIK, or null when it is not registered (not async itself: the caller's await is the only one).</summary>
    private Task<CoverageSpan[]?> LookUpAsync(long nik, CancellationToken cancellationToken)
    {
        var lookup = new Lookup(nik, new TaskCompletionSource<CoverageSpan[]?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(lookup)) throw new InvalidOperationException("The registry is shutting down.");
        return lookup.Result.Task.WaitAsync(cancellationToken);
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
