using System.Diagnostics;
using Verification.Api;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verification.Api.Prakerja.V1;
using Verification.Membership;
using Verification.Membership.Features.Seed;
using Verification.Platform.Hosting;
using Verification.Prakerja;
using Grpc.Core;
using Verification.Api.Channels;

// Usage (see tests/benchmarks/prakerja-crosscheck.sh):
//   serve --data DIR --membership CONNSTR --prakerja CONNSTR --access CONNSTR [--port P]
//       the host composition with membership and prakerja, microservices mode on PostgreSQL, in-memory bus
//   run ADDRESS TOKEN REGISTERED_COUNT SEED SIZES
//       batches of the comma-separated SIZES, one after the other into the same database, each submitted as soon as the
//       one before has streamed its last result: COUNT recipients (9 in 10 registered: the first participants the seeder
//       made for SEED; 1 in 10 valid NIKs nobody registered), SubmitBatch then StreamBatchResults from offset 0, each
//       timed end to end; a table of every batch's times at the end
return args.ElementAtOrDefault(0) switch
{
    "serve" => await PrakerjaProcess.ServeAsync(args[1..]),
    "run" => await Load.RunAsync(args[1], args[2], long.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture),
        [.. args[5].Split(',').Select(size => int.Parse(size, CultureInfo.InvariantCulture))]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: serve|run ... (see Program.cs)");
    return 2;
}

static class PrakerjaProcess
{
    public static async Task<int> ServeAsync(string[] args)
    {
        string Option(string name) => args[Array.IndexOf(args, name) + 1];
        var data = Option("--data");
        Directory.CreateDirectory(data);
        var (membersFile, _, _) = DevelopmentMembers.EnsureCreated(data);
        var settings = new List<string>
        {
            "--Verification:Mode=Microservices",
            "--Verification:Services=membership,prakerja",
            "--Verification:Database:Provider=Postgres",
            $"--Verification:Database:ConnectionStrings:membership={Option("--membership")}",
            $"--Verification:Database:ConnectionStrings:prakerja={Option("--prakerja")}",
            $"--Verification:Database:ConnectionStrings:access={Option("--access")}",
            // The completion event waits in Prakerja's outbox; no broker is involved in what is measured.
            "--Verification:Bus:Transport=InMemory",
            $"--Verification:Access:MembersFile={membersFile}",
            $"--Verification:Internal:TokenFile={Path.Combine(data, "dev-credentials", DevelopmentMembers.InternalMember + ".token")}",
            "--Verification:Access:RatePerSecond=10000000",
            "--Verification:Access:Burst=10000000",
            $"--Verification:Listen:Port={(args.Contains("--port") ? Option("--port") : "0")}",
        };
        var modules = new[] { MembershipModule.Module, PrakerjaModule.Module };
        var builder = WebApplication.CreateSlimBuilder([.. settings, .. args.Where(a => a.StartsWith("--Verification:", StringComparison.Ordinal))]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost(modules);
        await using var app = builder.Build();
        app.MapVerificationHost(modules);
        await app.StartAsync();
        Console.WriteLine($"listening on {app.Urls.First()} pid {Environment.ProcessId}");
        await app.WaitForShutdownAsync();
        return 0;
    }
}

static class Load
{
    /// <summary>One batch's figures: seconds from the first upload byte to the answer, to COMPLETED seen, to the last result.</summary>
    private sealed record BatchTimes(int Count, double Uploaded, double Processed, double EndToEnd, string LoadBefore);

    public static async Task<int> RunAsync(string address, string token, long registeredCount, long seed, int[] sizes)
    {
        // Prepared before the first clock starts, once per size: the client's own generation is not what is measured, and
        // no pause between batches gives autoanalyze time it would not have in production.
        var prepared = sizes.Distinct().ToDictionary(size => size, size => Recipients(registeredCount, seed, size));
        using var channel = new VerificationChannel(address, new ChannelSettings { BearerToken = token, RetryUnavailable = false });
        var client = new PrakerjaService.PrakerjaServiceClient(channel);
        var times = new List<BatchTimes>();
        var failed = false;
        for (var b = 0; b < sizes.Length; b++)
        {
            var loadBefore = LoadAverage();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== batch {b + 1} of {sizes.Length}: {sizes[b]:N0} recipients, load average before: {loadBefore}"));
            var (batchTimes, ok) = await RunBatchAsync(client, prepared[sizes[b]], loadBefore);
            times.Add(batchTimes);
            failed |= !ok;
        }

        Console.WriteLine("== every batch (end to end: first upload byte to last result; x first: against the first batch of the same size)");
        Console.WriteLine("| batch | recipients | load before | upload | COMPLETED seen | end to end | recipients/s | x first |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var b = 0; b < times.Count; b++)
        {
            var t = times[b];
            var first = times.First(f => f.Count == t.Count);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {b + 1} | {t.Count:N0} | {t.LoadBefore} | {t.Uploaded:F2} s | {t.Processed:F2} s | {t.EndToEnd:F2} s | {t.Count / t.EndToEnd:N0} | {t.EndToEnd / first.EndToEnd:F2} |"));
        }

        return failed ? 1 : 0;
    }

    private static List<SubmitBatchRequest> Recipients(long registeredCount, long seed, int count)
    {
        var registered = new SyntheticRegistry(new SyntheticRegistryOptions(seed)).Generate(Math.Min(registeredCount, count))
            .Select(p => p.Nik.ToString("D16", CultureInfo.InvariantCulture)).ToArray();
        var unregistered = new SyntheticRegistry(new SyntheticRegistryOptions(987_654)).Generate(count / 10 + 1)
            .Select(p => p.Nik.ToString("D16", CultureInfo.InvariantCulture)).ToArray();
        var chunks = new List<SubmitBatchRequest>(count / 1000 + 1);
        for (var start = 0; start < count; start += 1000)
        {
            var chunk = new RecipientChunk();
            for (var i = start; i < Math.Min(count, start + 1000); i++)
                chunk.Recipients.Add(new Recipient { RowId = i.ToString("D8", CultureInfo.InvariantCulture), Nik = i % 10 == 9 ? unregistered[i / 10] : registered[i % registered.Length] });
            chunks.Add(new SubmitBatchRequest { Chunk = chunk });
        }

        return chunks;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static async Task<(BatchTimes Times, bool Complete)> RunBatchAsync(PrakerjaService.PrakerjaServiceClient client, List<SubmitBatchRequest> chunks, string loadBefore)
    {
        var count = chunks.Sum(c => c.Chunk.Recipients.Count);
        var header = new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = "benchmark", Cohort = "gelombang-bench", IdempotencyKey = Guid.NewGuid().ToString() } };
        var watch = Stopwatch.StartNew();
        SubmitBatchResponse submitted;
        using (var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromMinutes(30))))
        {
            await call.RequestStream.WriteAsync(header);
            foreach (var message in chunks) await call.RequestStream.WriteAsync(message);
            await call.RequestStream.CompleteAsync();
            submitted = await call.ResponseAsync;
        }

        var uploaded = watch.Elapsed.TotalSeconds;
        var processedAt = 0.0;
        using var polling = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            while (!polling.IsCancellationRequested)
            {
                var batch = (await client.GetBatchAsync(new GetBatchRequest { BatchId = submitted.BatchId })).Batch;
                if (batch.State == BatchState.Completed)
                {
                    processedAt = watch.Elapsed.TotalSeconds;
                    return batch;
                }

                await Task.Delay(100);
            }

            return null;
        });

        long received = 0, next = 0;
        var counts = new long[7];
        using (var call = client.StreamBatchResults(new StreamBatchResultsRequest { BatchId = submitted.BatchId }, RpcCalls.WithTimeout(TimeSpan.FromMinutes(30))))
        {
            while (await call.ResponseStream.MoveNext())
            {
                foreach (var result in call.ResponseStream.Current.Results)
                {
                    if (result.Offset != next++) throw new InvalidOperationException($"Offset {result.Offset} where {next - 1} was expected.");
                    counts[(int)result.Status]++;
                    received++;
                }
            }
        }

        var total = watch.Elapsed.TotalSeconds;
        var final = await poller;
        await polling.CancelAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"upload: {count:N0} recipients in {uploaded:F2} s = {count / uploaded:N0}/s (SubmitBatch, to the answer)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"processed (GetBatch COMPLETED seen): {processedAt:F2} s after the upload began"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"end to end: {received:N0} results streamed in {total:F2} s = {received / total:N0} recipients/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"results: not registered {counts[1]:N0}, active wage {counts[2]:N0}, active non-wage {counts[3]:N0}, inactive {counts[4]:N0}, invalid {counts[5]:N0}, duplicate {counts[6]:N0}"));
        return (new BatchTimes(count, uploaded, processedAt, total, loadBefore), received == count && final is not null);
    }
}
