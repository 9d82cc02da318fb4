using Microsoft.Extensions.DependencyInjection;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Keys;
using Verification.Platform.Data;

namespace Verification.Audit.Tests.Module;

/// <summary>The whole-log check runs while the log grows: a head signed and published in the middle of its reads is not a rollback.</summary>
public sealed class IntegrityCheckInterleavingTests
{
    [Fact]
    public async Task AHeadSignedAndPublishedBetweenTheChecksTwoHeadReadsIsNotTakenForARollback()
    {
        await using var host = await StartWithFourEntriesAsync();
        var published = host.Services.GetRequiredService<PublishedHead>();
        await WaitForPublishedAsync(published, 4);

        var grewBetweenReads = false;
        var check = Check(host, betweenHeadReads: async cancellationToken =>
        {
            // The appender commits a head, then publishes it: both happen here, after one of the check's reads and before the other.
            await host.PublishAsync(SampleEvents.Denial("between-reads"));
            await host.WaitForTreeHeadAsync(5);
            await WaitForPublishedAsync(published, 5);
            grewBetweenReads = true;
        });

        AssertIntact(await check.RunAsync(progress: null, CancellationToken.None), grewBetweenReads);
    }

    [Fact]
    public async Task EntriesAndAHeadAppendedBetweenTheChecksHeadAndSizeReadsAreNotTakenForRemovedEntries()
    {
        await using var host = await StartWithFourEntriesAsync();

        var grewBetweenReads = false;
        var check = Check(host, betweenHeadAndSizeReads: async cancellationToken =>
        {
            // The appender commits entries and their head in one transaction: here, after one of the check's database reads and before the other.
            await host.PublishAsync([.. Enumerable.Range(0, 3).Select(i => SampleEvents.Denial($"between-{i}"))]);
            await host.WaitForTreeHeadAsync(7);
            grewBetweenReads = true;
        });

        AssertIntact(await check.RunAsync(progress: null, CancellationToken.None), grewBetweenReads);
    }

    private static async Task<AuditTestHost> StartWithFourEntriesAsync()
    {
        var host = await AuditTestHost.StartAsync();
        await host.PublishAsync([.. Enumerable.Range(0, 4).Select(i => SampleEvents.Denial($"before-{i}"))]);
        await host.WaitForTreeHeadAsync(4);
        return host;
    }

    /// <summary>The host's own check, with a test's step between two of its reads.</summary>
    private static LogIntegrityCheck Check(
        AuditTestHost host, Func<CancellationToken, Task>? betweenHeadReads = null, Func<CancellationToken, Task>? betweenHeadAndSizeReads = null) =>
        new(host.Services.GetRequiredKeyedService<ModuleDatabase>(typeof(Verification.Audit.Data.AuditDbContext)), host.Services.GetRequiredService<LogSigningKey>(),
            host.Services.GetRequiredService<PublishedHead>())
        {
            BetweenHeadReads = betweenHeadReads,
            BetweenHeadAndSizeReads = betweenHeadAndSizeReads,
        };

    private static void AssertIntact(IntegrityReport report, bool grewBetweenReads)
    {
        Assert.True(grewBetweenReads);
        Assert.True(report.Intact, report.Problem);
        Assert.True(report.EntriesChecked >= 4, $"checked {report.EntriesChecked} entries");
    }

    private static async Task WaitForPublishedAsync(PublishedHead published, long size)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (published.Read() is not { } head || head.TreeSize < size) await Task.Delay(10, timeout.Token);
    }
}
