using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Verification.Api.Prakerja.V1;
using Verification.LoadTests.Books;
using Verification.LoadTests.Harness;
using Grpc.Core;
using Verification.Api;

namespace Verification.LoadTests.Scenarios;

/// <summary>
/// The Prakerja PMO submitting batches of N recipients (SubmitBatch, chunks of 5,000) one after another and waiting
/// for each to complete; a batch holds a few structurally invalid NIKs and a few repeated ones, whose counts the
/// totals must show. Recipients per second run from the first byte of the upload to COMPLETED.
/// </summary>
public sealed class PrakerjaTraffic(Suite suite, LoadOptions options, RpcStats stats, BankCalls calls) : IWorkload
{
    private const int ChunkSize = 5000;

    private readonly ConcurrentQueue<string> findings = new();
    private readonly ConcurrentBag<(string BatchId, long Recipients, TimeSpan Took)> completed = [];
    private long batchNumber;

    public string Name => "prakerja";

    public IReadOnlyList<string> Modules => ["prakerja"];

    public IEnumerable<string> Findings => findings;

    public Task SetupAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task RunAsync(CancellationToken stopStarting, CancellationToken cancellationToken)
    {
        // At least one batch, however short the run.
        do
        {
            await RunBatchAsync(cancellationToken);
        }
        while (!stopStarting.IsCancellationRequested);
    }

    private async Task RunBatchAsync(CancellationToken cancellationToken)
    {
        var client = new PrakerjaService.PrakerjaServiceClient(suite.Channel("prakerja", "prakerja-pmo"));
        var n = Interlocked.Increment(ref batchNumber);
        var recipients = Recipients(n, options.Recipients, out var invalid, out var duplicates);
        var key = $"load-{suite.RunId}-{n}";
        var started = Stopwatch.StartNew();
        SubmitBatchResponse submitted;
        try
        {
            submitted = await calls.CallAsync("prakerja.SubmitBatch", async ct =>
            {
                using var call = client.SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromMinutes(5), ct));
                await call.RequestStream.WriteAsync(new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = $"Uji beban {n}", Cohort = "gelombang-uji", IdempotencyKey = key } }, ct);
                foreach (var chunk in recipients.Chunk(ChunkSize))
                {
                    var message = new RecipientChunk();
                    message.Recipients.Add(chunk);
                    await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = message }, ct);
                }

                await call.RequestStream.CompleteAsync();
                return await call.ResponseAsync;
            }, cancellationToken);
        }
        catch (RpcException ex)
        {
            findings.Enqueue($"prakerja: batch {n} could not be submitted: {ex.StatusCode}");
            return;
        }

        Batch? batch = null;
        while (true)
        {
            try
            {
                batch = (await calls.CallAsync("prakerja.GetBatch", ct => client.GetBatchAsync(new GetBatchRequest { BatchId = submitted.BatchId }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(5), ct)).ResponseAsync, cancellationToken)).Batch;
            }
            catch (RpcException ex)
            {
                findings.Enqueue($"prakerja: batch {submitted.BatchId}: GetBatch failed with {ex.StatusCode}");
                return;
            }

            if (batch.State is BatchState.Completed or BatchState.Failed or BatchState.Expired) break;
            if (started.Elapsed > TimeSpan.FromMinutes(10))
            {
                findings.Enqueue($"prakerja: batch {submitted.BatchId} not completed within 10 minutes ({batch.ProcessedCount}/{batch.RecipientCount})");
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        stats.For("prakerja.batch (submit to COMPLETED)").Success(started.Elapsed.TotalMilliseconds);
        if (batch.State != BatchState.Completed)
        {
            findings.Enqueue($"prakerja: batch {submitted.BatchId} ended {batch.State}");
            return;
        }

        var totals = batch.Totals;
        if (batch.RecipientCount != recipients.Count || totals.Recipients != recipients.Count)
            findings.Enqueue($"prakerja: batch {submitted.BatchId} counts {totals.Recipients} of {batch.RecipientCount} recipients, {recipients.Count} were sent");
        if (totals.InvalidNik != invalid || totals.DuplicateInBatch != duplicates)
            findings.Enqueue($"prakerja: batch {submitted.BatchId} says {totals.InvalidNik} invalid and {totals.DuplicateInBatch} repeated NIKs; {invalid} and {duplicates} were sent");
        completed.Add((submitted.BatchId, recipients.Count, started.Elapsed));
    }

    /// <summary>Distinct valid NIKs (Makassar, 7371…), every 1,000th structurally invalid, every 997th a repeat of the one before.</summary>
    private static List<Recipient> Recipients(long batch, int count, out long invalid, out long duplicates)
    {
        var list = new List<Recipient>(count);
        invalid = 0;
        duplicates = 0;
        for (var i = 0; i < count; i++)
        {
            string nik;
            if (i % 1000 == 999)
            {
                nik = "0000000000000000";
                invalid++;
            }
            else if (i % 997 == 996 && i > 0 && list[^1].Nik != "0000000000000000")
            {
                nik = list[^1].Nik;
                duplicates++;
            }
            else
            {
                var n = (batch * 1_000_003) + i;
                var birth = new DateOnly(1980, 1, 1).AddDays((int)(n / 9999 % 7000));
                nik = string.Create(CultureInfo.InvariantCulture, $"737101{birth.Day:00}{birth.Month:00}{birth.Year % 100:00}{1 + (n % 9999):0000}");
            }

            list.Add(new Recipient { RowId = i.ToString(CultureInfo.InvariantCulture), Nik = nik });
        }

        return list;
    }

    public Task AfterLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public string Throughput(TimeSpan elapsed)
    {
        var batches = completed.ToList();
        if (batches.Count == 0) return "prakerja: no batch completed";
        var rates = batches.Select(b => b.Recipients / b.Took.TotalSeconds).Order().ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"prakerja: {batches.Count} batch(es) of {options.Recipients} recipients completed; recipients/s from upload to COMPLETED: median {rates[rates.Count / 2]:0}, best {rates[^1]:0}");
    }

    public void AddChecks(BooksCheck books) => books.Extra.Add(async (b, cancellationToken) =>
    {
        var batches = completed.ToList();
        var audited = (await SuiteProbe.QueryAsync(suite.Databases["audit"],
            "SELECT batch_id, count(*) FROM audit_entries WHERE event_type = 'PrakerjaBatchCompleted' GROUP BY batch_id", null, cancellationToken) ?? [])
            .ToDictionary(r => (string)r[0]!, r => (long)r[1]!);
        var wrong = batches.Where(x => audited.GetValueOrDefault(x.BatchId) != 1).ToList();
        foreach (var x in wrong.Take(5)) b.Differs($"audit: Prakerja batch {x.BatchId} has {audited.GetValueOrDefault(x.BatchId)} PrakerjaBatchCompleted entries, not 1");
        if (wrong.Count == 0 && batches.Count > 0) b.Checked($"prakerja: {batches.Count} batch(es) completed with the right totals, each with exactly one PrakerjaBatchCompleted audit entry");
        if (batches.Count == 0) b.Differs("prakerja: no batch completed");
    });
}
