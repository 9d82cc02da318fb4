using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Domain;

namespace Verification.Abuse.Tests;

/// <summary>Rentan's lists charge each row to the sponsor's item budget: over it, the call ends RESOURCE_EXHAUSTED and leaves nothing in use.</summary>
public class RentanItemBudgetTests
{
    private const string Sponsor = "sponsor-parepare";

    private static Date Day(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    /// <summary>The sponsor registered (by the administrator) with this year's agreement; the agreement's id.</summary>
    private static async Task<string> SponsorAsync(AbuseHost host)
    {
        using var channel = host.Channel("bpjs-admin");
        var admin = new RentanService.RentanServiceClient(channel);
        await admin.RegisterSponsorAsync(new RegisterSponsorRequest { SponsorCode = Sponsor, Name = "Pemerintah Kota Parepare", RegionCodes = { "7372" } });
        var year = WibCalendar.JakartaToday(TimeProvider.System).Year;
        var agreement = new SaveAgreementRequest
        {
            SponsorCode = Sponsor, Year = year, BudgetRupiah = 10_000_000,
            StartDate = Day(new DateOnly(year, 1, 1)), EndDate = Day(new DateOnly(year, 12, 31)),
            Programs = { Verification.Api.Common.V1.Program.Jkk, Verification.Api.Common.V1.Program.Jkm },
        };
        return (await admin.SaveAgreementAsync(agreement)).Agreement.AgreementId;
    }

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
    public async Task AnEnrolmentListOverTheBudgetIsRefusedWholeAndAnExtractOverItIsNotCompleted()
    {
        // Ten rows at once, one a second after, no waiting.
        await using var host = await AbuseHost.StartAsync(
            "Verification:Access:ItemsPerSecond=1", "Verification:Access:ItemBurst=10", "Verification:Access:MaxItemWait=00:00:00");
        var agreementId = await SponsorAsync(host);
        using var channel = host.Channel(Sponsor);
        var rentan = new RentanService.RentanServiceClient(channel);

        using (var list = rentan.EnrolWorkers(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60))))
        {
            await SendAllAsync(list.RequestStream, [
                new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = Sponsor, AgreementId = agreementId } },
                .. Enumerable.Range(0, 100).Select(i => new EnrolWorkersRequest { Row = new WorkerRow { RowId = $"r{i}" } })]);
            var rows = 0;
            var ex = await Assert.ThrowsAsync<RpcException>(async () => { while (await list.ResponseStream.MoveNext()) rows++; });
            Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
            Assert.Contains("nothing of this list was enrolled", ex.Status.Detail);
            Assert.NotNull(ex.GetDetail<RetryInfo>());
            Assert.Equal(0, rows);
        }

        using var upload = rentan.UploadExtract(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        await SendAllAsync(upload.RequestStream, [
            new UploadExtractRequest { Header = new ExtractHeader { SponsorCode = Sponsor, ExtractDate = Day(WibCalendar.JakartaToday(TimeProvider.System)) } },
            .. Enumerable.Range(0, 10).Select(_ => new UploadExtractRequest { Rows = new ExtractRows { Rows = { Enumerable.Range(0, 10).Select(_ => new ExtractRow()) } } })]);
        var summaries = 0;
        var failed = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await upload.ResponseStream.MoveNext())
                if (upload.ResponseStream.Current.ResultCase == UploadExtractResponse.ResultOneofCase.Summary) summaries++;
        });
        Assert.Equal(StatusCode.ResourceExhausted, failed.StatusCode);
        Assert.Contains("the extract is not complete and not in use", failed.Status.Detail);
        Assert.Equal(0, summaries);
    }
}
