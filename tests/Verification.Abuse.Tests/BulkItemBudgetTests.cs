using Google.Rpc;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.NonAsn.V1;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;

namespace Verification.Abuse.Tests;

/// <summary>
/// The item budget on the other bulk methods (Prakerja CrossCheck and SubmitBatch, NonAsn uploads): the same mechanism as
/// VerifyMembershipBatch, each recipient or row charged as its message is read.
/// </summary>
public class BulkItemBudgetTests
{
    /// <summary>1,000 items at once, then 100 a second, and no waiting: a second message of 1,000 is over the budget for seconds.</summary>
    private static readonly string[] TightBudget =
        ["Verification:Access:ItemsPerSecond=100", "Verification:Access:ItemBurst=1000", "Verification:Access:MaxItemWait=00:00:00"];

    private static RecipientChunk Recipients(int from, int count) => new()
    {
        // One valid NIK repeated: the first is asked of Membership, the rest are answered as repeats; every row gets a result.
        Recipients = { Enumerable.Range(from, count).Select(i => new Recipient { RowId = $"r{i}", Nik = "3201010101900001" }) },
    };

    /// <summary>Sends every message and half-closes, unless the server ended the call first (its status is read from the answer).</summary>
    private static async Task SendAllAsync<T>(IClientStreamWriter<T> requests, IEnumerable<T> messages)
    {
        try
        {
            foreach (var message in messages) await requests.WriteAsync(message);
            await requests.CompleteAsync();
        }
        catch (RpcException)
        {
            // The call already ended: the test asserts the status it ended with.
        }
    }

    [Fact]
    public async Task ACrossCheckOverTheBudgetAnswersEveryEarlierRecipientThenEndsResourceExhausted()
    {
        await using var host = await AbuseHost.StartAsync(TightBudget);
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await SendAllAsync(call.RequestStream, [
            new CrossCheckRequest { Recipients = { Recipients(0, 1000).Recipients } },
            new CrossCheckRequest { Recipients = { Recipients(1000, 1000).Recipients } }]);

        var rows = new HashSet<string>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
                foreach (var result in call.ResponseStream.Current.Results) rows.Add(result.RowId);
        });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("recipients before this message were answered", ex.Status.Detail);
        Assert.InRange(ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"r{i}").ToHashSet(), rows);
    }

    [Fact]
    public async Task AnUploadOverTheBudgetEndsResourceExhaustedAndKeepsNothing()
    {
        await using var host = await AbuseHost.StartAsync(TightBudget);
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await SendAllAsync(call.RequestStream, [
            new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = "Gelombang 46", Cohort = "g46" } },
            new SubmitBatchRequest { Chunk = Recipients(0, 1000) },
            new SubmitBatchRequest { Chunk = Recipients(1000, 1000) }]);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("nothing of this upload was kept", ex.Status.Detail);
        Assert.InRange(ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        await using var scope = host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>();
        Assert.Equal(0, await db.Batches.CountAsync());
    }

    [Fact]
    public async Task WithinTheLongestWaitAnUploadIsSlowedAndKeepsEveryRecipient()
    {
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:ItemsPerSecond=2000", "Verification:Access:ItemBurst=1000", "Verification:Access:MaxItemWait=00:01:00");
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(120)));
        await call.RequestStream.WriteAsync(new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = "Gelombang 47", Cohort = "g47" } });
        for (var i = 0; i < 4; i++) await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = Recipients(i * 1000, 1000) });
        await call.RequestStream.CompleteAsync();

        Assert.Equal(4000, (await call.ResponseAsync).RecipientCount);
    }

    [Fact]
    public async Task ANonAsnUploadOverTheBudgetAnswersEveryEarlierRowThenEndsResourceExhausted()
    {
        // Ten rows at once, then one a second (the least a rate can be), and no waiting.
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:ItemsPerSecond=1", "Verification:Access:ItemBurst=10", "Verification:Access:MaxItemWait=00:00:00");
        using var channel = host.Channel("kemnaker");
        using var call = new NonAsnService.NonAsnServiceClient(channel).RegisterEmployees(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        // Rows without an employee: each is answered as invalid without Membership, so only the budget decides how many are.
        const int sent = 200;
        await SendAllAsync(call.RequestStream, Enumerable.Range(0, sent).Select(i => new RegisterEmployeesRequest { RowId = $"r{i}", EmployerNumber = "11000001" }));

        var rows = new List<string>();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
                if (call.ResponseStream.Current.Row is { } row) rows.Add(row.RowId);
        });
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("rows before this one were answered", ex.Status.Detail);
        Assert.InRange(ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan(), TimeSpan.FromTicks(1), TimeSpan.FromSeconds(1));
        // The burst's ten rows (and any that refilled while they were read), each answered, in order, none skipped.
        Assert.InRange(rows.Count, 10, sent - 1);
        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, rows.Count).Select(i => $"r{i}").ToHashSet(), rows.ToHashSet());
    }
}
