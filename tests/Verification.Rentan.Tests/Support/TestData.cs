using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using WibCalendar = Verification.Domain.WibCalendar;

namespace Verification.Rentan.Tests.Support;

/// <summary>Valid, distinct workers, extracts and lists for tests, and the calls a sponsor makes.</summary>
public static class TestData
{
    public const string Administrator = "bpjs-admin";

    /// <summary>The BPU contribution of JKK (1 %) and JKM (Rp6,800) on the minimum declared income of Rp1,000,000, per month.</summary>
    public const long MonthlyJkkJkm = 16_800;

    private static int _next = Random.Shared.Next(0, 500_000);

    public static readonly DateOnly BirthDate = new(1985, 3, 12);

    public static DateOnly Today => WibCalendar.JakartaToday(TimeProvider.System);

    public static int Year => Today.Year;

    /// <summary>Months an enrolment today commits under an agreement ending on 31 December.</summary>
    public static int MonthsLeft => 12 - Today.Month + 1;

    /// <summary>A structurally valid NIK (Parepare, born 12 Mar 1985) not handed out before in this process.</summary>
    public static string NewNik()
    {
        var n = Interlocked.Increment(ref _next);
        var district = 1 + (n / 9999 % 99);
        var serial = 1 + (n % 9999);
        return $"7372{district:00}120385{serial:0000}";
    }

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    /// <summary>Registers <paramref name="sponsor"/> (regency 7372) and its agreement for <paramref name="year"/> (default: this year, 1 Jan–31 Dec).</summary>
    public static async Task<Agreement> SponsorWithAgreementAsync(RentanHost host, string sponsor, long budget, int? year = null, string region = "7372", params Program[] programs)
    {
        var admin = host.Admin();
        var registration = new RegisterSponsorRequest { SponsorCode = sponsor, Name = "Pemerintah Kota Parepare", RegionCodes = { region } };
        await admin.RegisterSponsorAsync(registration);
        return await AgreementAsync(host, sponsor, budget, year ?? Year, programs);
    }

    public static async Task<Agreement> AgreementAsync(RentanHost host, string sponsor, long budget, int year, params Program[] programs)
    {
        var request = new SaveAgreementRequest
        {
            SponsorCode = sponsor,
            Year = year,
            BudgetRupiah = budget,
            StartDate = ToApi(new DateOnly(year, 1, 1)),
            EndDate = ToApi(new DateOnly(year, 12, 31)),
        };
        request.Programs.Add(programs.Length > 0 ? programs : [Program.Jkk, Program.Jkm]);
        return (await host.Admin().SaveAgreementAsync(request)).Agreement;
    }

    public static ExtractRow Person(string? nik = null, int decile = 2, string regency = "7372", PovertyCategory category = PovertyCategory.Poor) =>
        new() { Nik = nik ?? NewNik(), HouseholdId = "KK-" + Guid.NewGuid().ToString("N")[..12], Decile = decile, RegencyCode = regency, PovertyCategory = category };

    public static WorkerRow Worker(string nik, string? rowId = null, string name = "Siti Rahmawati") =>
        new() { RowId = rowId ?? nik[^6..], Nik = nik, FullName = name, BirthDate = ToApi(BirthDate), Sex = Sex.Female };

    /// <summary>Uploads an extract the way a client must: replies read while rows are still being sent.</summary>
    public static async Task<(List<ExtractRowError> Rejected, ExtractSummary Summary)> UploadAsync(
        RentanService.RentanServiceClient client, string sponsor, IEnumerable<ExtractRow> rows, DateOnly? extractDate = null, int rowsPerMessage = 3)
    {
        using var call = client.UploadExtract();
        var sending = Task.Run(async () =>
        {
            await call.RequestStream.WriteAsync(new UploadExtractRequest { Header = new ExtractHeader { SponsorCode = sponsor, ExtractDate = ToApi(extractDate ?? Today) } });
            foreach (var chunk in rows.Chunk(rowsPerMessage))
                await call.RequestStream.WriteAsync(new UploadExtractRequest { Rows = new ExtractRows { Rows = { chunk } } });
            await call.RequestStream.CompleteAsync();
        });
        var rejected = new List<ExtractRowError>();
        ExtractSummary? summary = null;
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                Assert.Null(summary); // the summary comes last, exactly once
                if (call.ResponseStream.Current.ResultCase == UploadExtractResponse.ResultOneofCase.Rejected) rejected.Add(call.ResponseStream.Current.Rejected);
                else summary = call.ResponseStream.Current.Summary;
            }
        }
        finally
        {
            try { await sending; } catch (RpcException) { } catch (InvalidOperationException) { }
        }

        Assert.NotNull(summary);
        return (rejected, summary!);
    }

    /// <summary>Sends an enrolment list and reads every answer and the summary.</summary>
    public static async Task<(List<WorkerRowResult> Rows, EnrolWorkersSummary Summary)> EnrolAsync(
        RentanService.RentanServiceClient client, string sponsor, string agreementId, IEnumerable<WorkerRow> rows)
    {
        using var call = client.EnrolWorkers();
        var sending = Task.Run(async () =>
        {
            await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = sponsor, AgreementId = agreementId } });
            foreach (var row in rows) await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Row = row });
            await call.RequestStream.CompleteAsync();
        });
        var results = new List<WorkerRowResult>();
        EnrolWorkersSummary? summary = null;
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                Assert.Null(summary);
                if (call.ResponseStream.Current.ResultCase == EnrolWorkersResponse.ResultOneofCase.Row) results.Add(call.ResponseStream.Current.Row);
                else summary = call.ResponseStream.Current.Summary;
            }
        }
        finally
        {
            try { await sending; } catch (RpcException) { } catch (InvalidOperationException) { }
        }

        Assert.NotNull(summary);
        return (results, summary!);
    }

    public static async Task<List<T>> ReadAllAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            var all = new List<T>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) all.Add(call.ResponseStream.Current);
            return all;
        }
    }

    public static async Task<Agreement> AgreementOfAsync(RentanHost host, string sponsor, int? year = null) =>
        (await host.Admin().GetAgreementAsync(new GetAgreementRequest { SponsorCode = sponsor, Year = year ?? Year })).Agreement;
}

public static class RpcAssert
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/>; returns the exception.</summary>
    public static async Task<RpcException> FailsAsync(StatusCode code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == code, $"expected {code}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }

    /// <summary>The (field, reason) pairs of an INVALID_ARGUMENT's BadRequest.</summary>
    public static async Task<IReadOnlyList<(string Field, string Reason)>> ViolationsAsync(Func<Task> call)
    {
        var ex = await FailsAsync(StatusCode.InvalidArgument, call);
        var badRequest = ex.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        return [.. badRequest!.FieldViolations.Select(v => (v.Field, v.Reason))];
    }

    public static string? ReasonOf(RpcException ex) => ex.GetDetail<ErrorInfo>()?.Reason;
}
