using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Platform.Leases;
using Verification.Prakerja.Features.Process;
using Verification.Prakerja.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Verification.Prakerja.Tests;

/// <summary>Two replicas of the Prakerja module (and Membership) on the same PostgreSQL databases.</summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task OneReplicaSweepsAtATimeAndWhenItIsKilledTheOtherTakesTheSweepAndPurges()
    {
        var databases = await PrakerjaHost.PostgresSettingsAsync();
        string[] settings = [.. databases, "Verification:Prakerja:ResultRetention=00:00:01", "Verification:Prakerja:LeaseDuration=00:00:02"];
        var prakerjaDatabase = new ModuleDatabase("prakerja", DatabaseProvider.Postgres,
            databases.Single(s => s.StartsWith("Verification:Database:ConnectionStrings:prakerja=", StringComparison.Ordinal)).Split('=', 2)[1]);
        var leases = new JobLeases(prakerjaDatabase);
        var hosts = new List<PrakerjaHost> { await PrakerjaHost.StartAsync(settings), await PrakerjaHost.StartAsync(settings) };
        try
        {
            var owners = hosts.Select(h => h.Services.GetRequiredService<BatchWorker>().Owner).ToList();

            // Both workers try every 200 ms; exactly one holds the sweep.
            JobLease? holder = null;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((holder = await leases.HolderAsync(BatchWorker.SweepJob, CancellationToken.None)) is null)
            {
                if (DateTime.UtcNow > until) throw new TimeoutException("No replica took the sweep.");
                await Task.Delay(50);
            }

            // Under heavy load a 2 s lease may pass between the two live replicas: only its holder and token's growth are certain.
            Assert.Contains(holder.Holder, owners);
            var killed = owners.IndexOf(holder.Holder);
            var survivor = hosts[1 - killed];

            // The holder dies without handing the lease back; a batch left to the survivor expires only once it takes the sweep.
            await hosts[killed].DisposeAsync();
            hosts.RemoveAt(killed);
            var client = survivor.Prakerja();
            var submitted = await TestData.SubmitAsync(client, TestData.Header(), [TestData.Recipient("a", TestData.NewNik()), TestData.Recipient("b", "123")]);
            var batch = await TestData.WaitForStateAsync(client, submitted.BatchId, BatchState.Expired, TimeSpan.FromSeconds(30));

            Assert.Equal(new RecipientTotals { Recipients = 2, NotRegistered = 1, InvalidNik = 1 }, batch.Totals);
            Assert.Equal(0, await survivor.Store.CountRowsAsync((await survivor.BatchAsync(submitted.BatchId)).BatchKey, CancellationToken.None));
            var taken = await leases.HolderAsync(BatchWorker.SweepJob, CancellationToken.None);
            Assert.Equal(owners[1 - killed], taken?.Holder);
            Assert.True(taken!.Token > holder.Token, $"the survivor holds token {taken.Token}, not a successor of {holder.Token}");
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }
}
