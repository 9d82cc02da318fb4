using Google.Rpc;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;

namespace Verification.Abuse.Tests;

/// <summary>A Prakerja batch is read only by the member that submitted it and by auditors; an empty upload creates nothing.</summary>
public class BatchOwnershipTests
{
    private static async Task<SubmitBatchResponse> SubmitAsync(PrakerjaService.PrakerjaServiceClient client, int recipients)
    {
        using var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await call.RequestStream.WriteAsync(new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = "Gelombang 45", Cohort = "g45" } });
        if (recipients > 0)
        {
            await call.RequestStream.WriteAsync(new SubmitBatchRequest
            {
                Chunk = new RecipientChunk { Recipients = { Enumerable.Range(0, recipients).Select(i => new Recipient { RowId = $"r{i}", Nik = "3201010101900001" }) } },
            });
        }
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    private static async Task<int> ResultCountAsync(PrakerjaService.PrakerjaServiceClient client, string batchId)
    {
        using var call = client.StreamBatchResults(new StreamBatchResultsRequest { BatchId = batchId }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        var count = 0;
        while (await call.ResponseStream.MoveNext()) count += call.ResponseStream.Current.Results.Count;
        return count;
    }

    [Fact]
    public async Task AnotherPmoIsRefusedAndAuditedWhileTheSubmitterAndAnAuditorReadTheBatch()
    {
        await using var host = await AbuseHost.StartAsync();
        using var ownerChannel = host.Channel("prakerja-pmo");
        using var otherChannel = host.Channel(AbuseHost.SecondPmo);
        using var auditorChannel = host.Channel("auditor-bpk");
        var owner = new PrakerjaService.PrakerjaServiceClient(ownerChannel);
        var other = new PrakerjaService.PrakerjaServiceClient(otherChannel);
        var auditor = new PrakerjaService.PrakerjaServiceClient(auditorChannel);
        var batch = await SubmitAsync(owner, 3);

        var get = await Assert.ThrowsAsync<RpcException>(async () => await other.GetBatchAsync(new GetBatchRequest { BatchId = batch.BatchId }));
        Assert.Equal(StatusCode.PermissionDenied, get.StatusCode);
        Assert.Equal("BATCH_NOT_OWN", get.GetDetail<ErrorInfo>()?.Reason);
        var stream = await Assert.ThrowsAsync<RpcException>(() => ResultCountAsync(other, batch.BatchId));
        Assert.Equal(StatusCode.PermissionDenied, stream.StatusCode);

        Assert.Equal(3, (await owner.GetBatchAsync(new GetBatchRequest { BatchId = batch.BatchId })).Batch.RecipientCount);
        Assert.Equal(3, await ResultCountAsync(owner, batch.BatchId));
        Assert.Equal(3, (await auditor.GetBatchAsync(new GetBatchRequest { BatchId = batch.BatchId })).Batch.RecipientCount);
        Assert.Equal(3, await ResultCountAsync(auditor, batch.BatchId));

        // Both refusals are in the audit log, naming the batch.
        IReadOnlyList<string> rows = [];
        for (var attempt = 0; attempt < 300 && rows.Count < 2; attempt++)
        {
            await Task.Delay(100);
            rows = await host.AuditedDenialsAsync(AbuseHost.SecondPmo);
        }
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Contains("\"reasonCode\":\"BATCH_NOT_OWN\"", row));
        Assert.All(rows, row => Assert.Contains($"\"batchId\":\"{batch.BatchId}\"", row));
    }

    [Fact]
    public async Task AnUploadWithoutRecipientsIsInvalidAndCreatesNothing()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("prakerja-pmo");
        var ex = await Assert.ThrowsAsync<RpcException>(() => SubmitAsync(new PrakerjaService.PrakerjaServiceClient(channel), 0));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal(("chunk.recipients", "RECIPIENTS_EMPTY"), Assert.Single(ex.GetDetail<BadRequest>()!.FieldViolations) is var v ? (v.Field, v.Reason) : default);
        Assert.Null(ex.GetDetail<ResourceInfo>());

        await using var scope = host.Services.CreateAsyncScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>().Batches.CountAsync());
    }
}
