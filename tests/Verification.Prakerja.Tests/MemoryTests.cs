using System.Diagnostics;
using Verification.Api;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Tests.Support;
using Grpc.Core;
using Xunit.Abstractions;

namespace Verification.Prakerja.Tests;

[CollectionDefinition(nameof(MemoryCollection), DisableParallelization = true)]
public sealed class MemoryCollection;

/// <summary>Alone in its collection: the managed heap it measures is the whole test process's.</summary>
[Collection(nameof(MemoryCollection))]
public sealed class MemoryTests(ITestOutputHelper output)
{
    private const int Rows = 200_000;

    /// <summary>
    /// The live managed heap may grow by this much while 200,000 rows go through SubmitBatch, processing and
    /// StreamBatchResults. Holding the rows would need far more: the recipients' row ids and NIKs alone are about
    /// 100 bytes a row (20 MB), their protobuf messages about 30 MB, their results as many again.
    /// </summary>
    private const long CeilingBytes = 16L * 1024 * 1024;

    [Fact]
    public async Task ABatchOf200000RowsGoesThroughWithBoundedMemory()
    {
        // PostgreSQL, the production path (binary COPY, array updates); the database server's memory is its own process's.
        await using var host = await PrakerjaHost.StartAsync([.. await PrakerjaHost.PostgresSettingsAsync(), "Verification:Prakerja:ChunkSize=10000"]);
        var client = host.Prakerja();
        // Warm-up: every code path once, so JIT and model caches are not counted as growth.
        var warm = await TestData.SubmitAsync(client, TestData.Header(), Recipients(2_000));
        Assert.Equal(2_000, (await TestData.ResultsAsync(client, warm.BatchId)).Count);

        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
                await Task.Delay(500);
            }
        });
        var watch = Stopwatch.StartNew();
        var submitted = await TestData.SubmitAsync(client, TestData.Header(), Recipients(Rows));
        var uploaded = watch.Elapsed;

        // Count while reading, holding nothing: offsets must run 0..N-1 without gaps or repeats.
        long next = 0, invalid = 0, duplicates = 0, notRegistered = 0;
        using (var call = client.StreamBatchResults(new StreamBatchResultsRequest { BatchId = submitted.BatchId }, RpcCalls.WithTimeout(TimeSpan.FromMinutes(3))))
        {
            while (await call.ResponseStream.MoveNext())
            {
                foreach (var result in call.ResponseStream.Current.Results)
                {
                    Assert.Equal(next++, result.Offset);
                    if (result.Status == RecipientStatus.InvalidNik) invalid++;
                    else if (result.Status == RecipientStatus.DuplicateInBatch) duplicates++;
                    else if (result.Status == RecipientStatus.NotRegistered) notRegistered++;
                }
            }
        }

        var total = watch.Elapsed;
        await stop.CancelAsync();
        await sampler;
        peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        var growth = peak - baseline;
        output.WriteLine($"200,000 rows: upload {uploaded.TotalSeconds:F1} s, end to end {total.TotalSeconds:F1} s; live managed heap {baseline / 1048576.0:F1} MB at start, peak {peak / 1048576.0:F1} MB (+{growth / 1048576.0:F1} MB)");

        Assert.Equal(Rows, next);
        Assert.Equal(Rows / 100, invalid);
        Assert.Equal(Rows / 100, duplicates);
        Assert.Equal(Rows - 2 * (Rows / 100), notRegistered);
        Assert.True(growth < CeilingBytes, $"The live managed heap grew by {growth / 1048576.0:F1} MB (ceiling {CeilingBytes / 1048576} MB).");
    }

    /// <summary>Generated as they are sent, never held: one row in 100 has an invalid NIK, one in 100 repeats the row before it.</summary>
    private static IEnumerable<Recipient> Recipients(int count)
    {
        var previous = "";
        for (var i = 0; i < count; i++)
        {
            var nik = i % 100 == 50 ? "12345" : i % 100 == 99 ? previous : TestData.NewNik();
            previous = nik;
            yield return TestData.Recipient($"row-{i:D7}", nik, i % 2 == 0 ? "" : "gelombang-46");
        }
    }
}
