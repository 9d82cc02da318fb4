using Verification.Api.Prakerja.V1;
using Verification.Platform.Data;
using Verification.Prakerja.Tests.Support;
using Grpc.Core;

namespace Verification.Prakerja.Tests;

public sealed class RetentionTests
{
    [Theory]
    [MemberData(nameof(Providers.Both), MemberType = typeof(Providers))]
    public async Task AfterTheRetentionPeriodResultsArePurgedAndTotalsAndDigestRemain(DatabaseProvider provider)
    {
        await using var host = await PrakerjaHost.StartOnAsync(provider, "Verification:Prakerja:ResultRetention=00:00:01");
        var client = host.Prakerja();
        var rows = new[] { TestData.Recipient("a", TestData.NewNik()), TestData.Recipient("b", "123"), TestData.Recipient("c", TestData.NewNik()) };
        var submitted = await TestData.SubmitAsync(client, TestData.Header(), rows);

        var batch = await TestData.WaitForStateAsync(client, submitted.BatchId, BatchState.Expired, TimeSpan.FromSeconds(30));

        Assert.Equal(submitted.InputSha256, batch.InputSha256);
        Assert.Equal(new RecipientTotals { Recipients = 3, NotRegistered = 2, InvalidNik = 1 }, batch.Totals);
        Assert.Equal(3, batch.ProcessedCount);
        Assert.True(batch.ExpireTime.ToDateTimeOffset() <= DateTimeOffset.UtcNow);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => TestData.ResultsAsync(client, submitted.BatchId));
        Assert.Equal(0, await host.Store.CountRowsAsync((await host.BatchAsync(submitted.BatchId)).BatchKey, CancellationToken.None));
    }
}
