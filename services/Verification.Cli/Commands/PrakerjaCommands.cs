using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Spectre.Console;
using Verification.Api.Prakerja.V1;
using Verification.Cli.Files;
using Verification.Cli.Output;
using Grpc.Core;
using Verification.Api;

namespace Verification.Cli.Commands;

/// <summary><c>verification prakerja …</c>: the programme office's batch cross-checks of card recipients.</summary>
public static class PrakerjaCommands
{
    /// <summary>Header of the results file <c>prakerja results</c> writes (and resumes).</summary>
    public static readonly string[] ResultsHeader = ["offset", "row_id", "status", "invalid_nik_reason"];

    public const int ChunkSize = 2_000;

    public static Command Create(CommandContext context)
    {
        var prakerja = new Command("prakerja", "Cross-check Prakerja card recipients against the registry in batches (Prakerja PMO member).");
        prakerja.Subcommands.Add(Submit(context));
        prakerja.Subcommands.Add(Status(context));
        prakerja.Subcommands.Add(Results(context));
        return prakerja;
    }

    private static Command Submit(CommandContext context)
    {
        var file = new Argument<FileInfo>("recipients.csv") { Description = "The recipient list. " + RecipientCsv.Help };
        var label = new Option<string>("--label") { Description = "Your label for the batch, e.g. \"Gelombang 45 / 2025-03\".", Required = true };
        var cohort = new Option<string>("--cohort") { Description = "Cohort of rows whose cohort column is empty.", DefaultValueFactory = _ => "" };
        var key = new Option<string?>("--idempotency-key") { Description = "Key that makes a repeated upload return the first batch (default: derived from the label, cohort and file content, so running the same command twice submits once)." };
        var command = new Command("submit", "Upload a recipient list as a batch the server checks on its own; prints the batch id and the input digest. Then use 'prakerja results BATCH'.") { file, label, cohort, key };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var input = result.GetValue(file)!;
            var csv = ReadCsv(input);
            var recipients = RecipientCsv.Read(csv, out var problems);
            if (problems.Count > 0)
            {
                throw new InvalidInputException("the list has rows the server would refuse; nothing was sent:", problems);
            }
            if (recipients.Count == 0) throw new InvalidInputException($"{input.Name} has no recipients after the header");
            var headerCohort = result.GetValue(cohort) ?? "";
            var digest = RecipientCsv.InputDigest(recipients, headerCohort);
            var header = new SubmitBatchHeader
            {
                Label = result.GetValue(label)!,
                Cohort = headerCohort,
                IdempotencyKey = result.GetValue(key) ?? DefaultKey(result.GetValue(label)!, headerCohort, digest),
            };

            var response = await RowProgress.RunAsync(printer, input.Name, "sent", recipients.Count, async counter =>
            {
                using var call = new PrakerjaService.PrakerjaServiceClient(channel).SubmitBatch(new CallOptions(deadline: DateTime.UtcNow.AddHours(1), cancellationToken: cancellationToken));
                await call.RequestStream.WriteAsync(new SubmitBatchRequest { Header = header }, cancellationToken);
                foreach (var chunk in recipients.Chunk(ChunkSize))
                {
                    var message = new RecipientChunk();
                    message.Recipients.Add(chunk);
                    await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = message }, cancellationToken);
                    counter.AddRows(chunk.Length);
                }
                await call.RequestStream.CompleteAsync();
                return await call.ResponseAsync;
            });

            var matches = response.InputSha256.Span.SequenceEqual(digest) && response.RecipientCount == recipients.Count;
            var digestHex = Convert.ToHexStringLower(response.InputSha256.Span);
            if (printer.Json)
            {
                printer.JsonValue(new { batchId = response.BatchId, inputSha256 = digestHex, recipientCount = response.RecipientCount, state = Values.Name(response.State), digestMatches = matches });
            }
            else
            {
                printer.Line($"batch id:     [bold]{Markup.Escape(response.BatchId)}[/]");
                printer.Line($"input digest: {digestHex} (SHA-256)");
                printer.Line($"recipients:   {response.RecipientCount:N0}");
                printer.Line($"state:        {Values.Name(response.State)}");
                printer.Line(matches ? "[green]The server received the list exactly as read from the file.[/]" : "");
            }
            if (!matches)
                printer.Error($"the server's digest or count ({response.RecipientCount} recipients) differs from the file's ({Convert.ToHexStringLower(digest)}, {recipients.Count}): the batch was not received as sent");
            return matches ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static Command Status(CommandContext context)
    {
        var batch = new Argument<string>("batch") { Description = "The batch id." };
        var command = new Command("status", "State, progress and totals (per cohort) of a batch.") { batch };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var response = await new PrakerjaService.PrakerjaServiceClient(channel).GetBatchAsync(new GetBatchRequest { BatchId = result.GetValue(batch)! }, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response.Batch);
                return ExitCodes.Ok;
            }
            PrintBatch(printer, response.Batch);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Results(CommandContext context)
    {
        var batch = new Argument<string>("batch") { Description = "The batch id." };
        var output = new Option<FileInfo>("--out") { Description = "The results CSV (offset,row_id,status,invalid_nik_reason). If it exists, the download continues after its last row.", Required = true };
        var command = new Command("results", "Download a batch's results to a CSV, waiting while the batch runs; resumes where an interrupted download stopped, without duplicates; ends with the totals.") { batch, output };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var client = new PrakerjaService.PrakerjaServiceClient(channel);
            var batchId = result.GetValue(batch)!;
            var path = result.GetValue(output)!.FullName;
            var before = (await client.GetBatchAsync(new GetBatchRequest { BatchId = batchId }, new CallOptions(cancellationToken: cancellationToken))).Batch;
            var (from, delimiter) = ResultsFile.Prepare(path, ResultsHeader);
            var received = await RowProgress.RunAsync(printer, $"batch {batchId}", "received", Math.Max(0, before.RecipientCount - from), counter =>
                DownloadAsync(client, batchId, path, from, delimiter, counter, cancellationToken));
            var after = (await client.GetBatchAsync(new GetBatchRequest { BatchId = batchId }, new CallOptions(cancellationToken: cancellationToken))).Batch;
            var total = from + received;
            var complete = after.State == BatchState.Completed && total == after.RecipientCount;
            if (printer.Json)
            {
                printer.JsonValue(new { batchId, results = path, resumedFrom = from, received, total, complete, state = Values.Name(after.State) });
            }
            else
            {
                if (from > 0) printer.Line($"resumed after offset {from - 1:N0} (already in the file)");
                printer.Line(Markup.Escape($"{received:N0} result(s) received, {total:N0} of {after.RecipientCount:N0} in {path}"));
                PrintBatch(printer, after);
            }
            if (!complete)
            {
                printer.Error($"the batch is {Values.Name(after.State)} and the file holds {total:N0} of {after.RecipientCount:N0} results");
                return ExitCodes.No;
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Streams results from <paramref name="from"/>, appending each to the file; a dropped stream reconnects from the last offset written.</summary>
    private static async Task<long> DownloadAsync(PrakerjaService.PrakerjaServiceClient client, string batchId, string path, long from, char delimiter, RowCounter counter, CancellationToken cancellationToken)
    {
        var next = from;
        var failures = 0;
        using var writer = CsvWriter.Append(path, delimiter);
        while (true)
        {
            try
            {
                using var call = client.StreamBatchResults(new StreamBatchResultsRequest { BatchId = batchId, FromOffset = next }, new CallOptions(deadline: DateTime.UtcNow.AddHours(12), cancellationToken: cancellationToken));
                while (await call.ResponseStream.MoveNext(cancellationToken))
                {
                    foreach (var row in call.ResponseStream.Current.Results)
                    {
                        if (row.Offset < next) continue; // never write an offset twice
                        writer.WriteRecord([row.Offset.ToString(CultureInfo.InvariantCulture), row.RowId, Values.Name(row.Status), row.InvalidNikReason == 0 ? "" : Values.Name(row.InvalidNikReason)]);
                        next = row.Offset + 1;
                        counter.AddRows();
                    }
                    writer.Flush();
                    failures = 0;
                }
                return next - from;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown && ++failures < 5 && !cancellationToken.IsCancellationRequested)
            {
                counter.AddErrors();
                writer.Flush();
                await Task.Delay(TimeSpan.FromMilliseconds(200 * failures), cancellationToken);
            }
        }
    }

    private static void PrintBatch(Printer printer, Batch batch)
    {
        printer.Line($"batch {Markup.Escape(batch.BatchId)}: {Markup.Escape(batch.Label)}");
        printer.Line($"state: [bold]{Values.Name(batch.State)}[/], {batch.ProcessedCount:N0} of {batch.RecipientCount:N0} checked" + (batch.InputTruncated ? " [yellow](upload was cut short: only the rows received before the error)[/]" : ""));
        printer.Line($"input digest: {Convert.ToHexStringLower(batch.InputSha256.Span)}");
        var table = new Table().AddColumns("cohort", "recipients", "not registered", "active wage earner", "active non-wage earner", "inactive", "invalid NIK", "duplicate");
        foreach (var cohort in batch.CohortTotals) AddTotals(table, cohort.Cohort.Length == 0 ? "(none)" : Markup.Escape(cohort.Cohort), cohort.Totals);
        AddTotals(table, "[bold]all[/]", batch.Totals ?? new RecipientTotals());
        printer.Console.Write(table);
    }

    private static void AddTotals(Table table, string name, RecipientTotals t) =>
        table.AddRow(name, t.Recipients.ToString("N0"), t.NotRegistered.ToString("N0"), t.ActiveWageEarner.ToString("N0"), t.ActiveNonWageEarner.ToString("N0"), t.Inactive.ToString("N0"), t.InvalidNik.ToString("N0"), t.DuplicateInBatch.ToString("N0"));

    private static string DefaultKey(string label, string cohort, byte[] digest) =>
        "cli-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(label + "\0" + cohort + "\0" + Convert.ToHexStringLower(digest))))[..48];

    internal static CsvFile ReadCsv(FileInfo input) => InputFiles.ReadCsv(input, "recipients");
}

/// <summary>A results file that a download appends to and a later run resumes.</summary>
public static class ResultsFile
{
    /// <summary>
    /// Creates the file with its header, or readies an existing one: drops a last line cut short by an interruption,
    /// and returns the offset after the last complete row (rows are in offset order) and the file's delimiter.
    /// </summary>
    public static (long From, char Delimiter) Prepare(string path, IReadOnlyList<string> header)
    {
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            if (complete > 0)
            {
                if (complete < bytes.Length)
                {
                    using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
                    stream.SetLength(complete);
                }
                var csv = CsvFile.Parse(bytes[..complete], Path.GetFileName(path));
                if (csv.Column(header[0]) != 0)
                    throw new UsageException($"{path} exists but is not a results file (its header is not {string.Join(",", header)}); choose another --out");
                var last = csv.Records.Count == 0 ? -1 : long.Parse(csv.Records[^1].Fields[0], CultureInfo.InvariantCulture);
                return (last + 1, csv.Delimiter);
            }
        }
        using var writer = CsvWriter.Create(path, ',', byteOrderMark: false);
        writer.WriteRecord(header);
        return (0, ',');
    }
}
