using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;
using Verification.Prakerja.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Tests;

public sealed class RetentionTests
{
    [Fact]
    public async Task AfterTheRetentionPeriodResultsArePurgedAndTotalsAndDigestRemain()
    {
        await using var host = await PrakerjaHost.StartAsync("Verification:Prakerja:ResultRetention=00:00:01");
        var client = host.Prakerja();
        var rows = new[] { TestData.Recipient("a", TestData.NewNik()), TestData.Recipient("b", "123"), TestData.Recipient("c", TestData.NewNik()) };
        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows);

        var batch = await TestData.WaitForStateAsync(client, submitted.BatchId, BatchState.Expired, TimeSpan.FromSeconds(30));

        Assert.Equal(submitted.InputSha256, batch.InputSha256);
        Assert.Equal(new RecipientTotals { Recipients = 3, NotRegistered = 2, InvalidNik = 1 }, batch.Totals);
        Assert.Equal(3, batch.ProcessedCount);
        Assert.True(batch.ExpireTime.ToDateTimeOffset() <= DateTimeOffset.UtcNow);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => TestData.ResultsAsync(client, submitted.BatchId));
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>();
        var key = await db.Batches.Where(b => b.BatchId == submitted.BatchId).Select(b => b.BatchKey).SingleAsync();
        Assert.Equal(0, await host.Services.GetRequiredService<PrakerjaStore>().CountRowsAsync(key, CancellationToken.None));
    }
}
