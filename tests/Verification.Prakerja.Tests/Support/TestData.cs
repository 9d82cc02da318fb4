using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.Prakerja.V1;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Tests.Support;

/// <summary>NIKs, registry set-up through Membership's API, and batch helpers over the wire.</summary>
public static class TestData
{
    private static int _next = Random.Shared.Next(0, 400_000);

    /// <summary>A structurally valid NIK (Semarang, born 15 Aug 1990) not handed out before in this process.</summary>
    public static string NewNik()
    {
        var n = Interlocked.Increment(ref _next);
        var district = 1 + (n / 9999 % 99);
        var regency = 1 + (n / (9999 * 99) % 99);
        var serial = 1 + (n % 9999);
        return $"33{regency:00}{district:00}150890{serial:0000}";
    }

    public static Date ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    public static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(7));

    /// <summary>Registers the NIK with PU coverage in force (a wage earner).</summary>
    public static Task WageEarnerAsync(PrakerjaHost host, string nik) => EnrolAsync(host, nik, Segment.Pu, Today, null);

    /// <summary>Registers the NIK with BPU coverage in force through a KUR bank (a non-wage earner).</summary>
    public static Task NonWageEarnerAsync(PrakerjaHost host, string nik) => EnrolAsync(host, nik, Segment.Bpu, Today, null);

    /// <summary>Registers the NIK with PU coverage that ended years ago (registered, nothing in force).</summary>
    public static Task InactiveAsync(PrakerjaHost host, string nik) => EnrolAsync(host, nik, Segment.Pu, new DateOnly(2020, 1, 1), new DateOnly(2020, 12, 31));

    private static async Task EnrolAsync(PrakerjaHost host, string nik, Segment segment, DateOnly start, DateOnly? end)
    {
        var enrol = new EnrollParticipantRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString(),
            Nik = nik,
            FullName = "Dewi Lestari",
            BirthDate = ToApi(new DateOnly(1990, 8, 15)),
            Sex = Sex.Male,
            Segment = segment,
            MonthlyIncomeRupiah = 4_000_000,
            StartDate = ToApi(start),
            EndDate = end is { } e ? ToApi(e) : null,
        };
        if (segment == Segment.Pu) enrol.EmployerNumber = "11000001";
        else
        {
            enrol.Channel = EnrolmentChannel.Kur;
            enrol.ChannelReference = "002";
        }

        enrol.Programs.Add([Program.Jkk, Program.Jkm]);
        await host.Membership().EnrollParticipantAsync(enrol);
    }

    public static Recipient Recipient(string rowId, string nik, string cohort = "") => new() { RowId = rowId, Nik = nik, Cohort = cohort };

    public static SubmitBatchRequest Header(string label = "Gelombang 45 / 2025-03", string cohort = "gelombang-45", string key = "") =>
        new() { Header = new SubmitBatchHeader { Label = label, Cohort = cohort, IdempotencyKey = key } };

    public static SubmitBatchRequest Chunk(IEnumerable<Recipient> recipients) => new() { Chunk = new RecipientChunk { Recipients = { recipients } } };

    /// <summary>Uploads header + recipients (in chunks of <paramref name="perMessage"/>) and half-closes.</summary>
    public static async Task<SubmitBatchResponse> SubmitAsync(PrakerjaService.PrakerjaServiceClient client, SubmitBatchRequest header, IEnumerable<Recipient> recipients, int perMessage = 1000)
    {
        using var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromMinutes(5)));
        await call.RequestStream.WriteAsync(header);
        foreach (var chunk in recipients.Chunk(perMessage)) await call.RequestStream.WriteAsync(Chunk(chunk));
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    /// <summary>The digest as the proto defines it, computed independently of the module's code.</summary>
    public static byte[] Digest(IEnumerable<Recipient> recipients, string headerCohort)
    {
        using var stream = new MemoryStream();
        void Field(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            stream.Write([(byte)(bytes.Length >> 24), (byte)(bytes.Length >> 16), (byte)(bytes.Length >> 8), (byte)bytes.Length]);
            stream.Write(bytes);
        }

        foreach (var r in recipients)
        {
            Field(r.RowId);
            Field(r.Nik);
            Field(r.Cohort.Length > 0 ? r.Cohort : headerCohort);
        }

        return SHA256.HashData(stream.ToArray());
    }

    /// <summary>Reads every result of a batch from <paramref name="from"/>; the stream ends when the batch is COMPLETED.</summary>
    public static async Task<List<RecipientResult>> ResultsAsync(PrakerjaService.PrakerjaServiceClient client, string batchId, long from = 0, params RecipientStatus[] filter)
    {
        var request = new StreamBatchResultsRequest { BatchId = batchId, FromOffset = from };
        request.StatusFilter.Add(filter);
        using var call = client.StreamBatchResults(request, RpcCalls.WithTimeout(TimeSpan.FromMinutes(2)));
        var results = new List<RecipientResult>();
        while (await call.ResponseStream.MoveNext()) results.AddRange(call.ResponseStream.Current.Results);
        return results;
    }

    public static async Task<Batch> WaitForStateAsync(PrakerjaService.PrakerjaServiceClient client, string batchId, BatchState state, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = batchId })).Batch;
            if (batch.State == state) return batch;
            if (DateTime.UtcNow > until) throw new TimeoutException($"Batch still {batch.State}, not {state}.");
            await Task.Delay(100);
        }
    }

    public static ByteString Bytes(byte[] bytes) => ByteString.CopyFrom(bytes);
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
}
