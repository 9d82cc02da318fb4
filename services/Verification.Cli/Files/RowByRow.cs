using System.Globalization;
using Grpc.Core;
using Verification.Api;
using Verification.Cli.Output;

namespace Verification.Cli.Files;

/// <summary>One row of a change list: where it came from, the call to make, or the problems that keep it from being made.</summary>
public sealed record ChangeRow<T>(CsvRecord Source, string RowId, string Key, T? Request, IReadOnlyList<string> Problems)
    where T : class;

/// <summary>
/// A CSV file of changes sent one unary call per row (a few in flight; rows about the same employee one after the other,
/// in file order), with one result per row written beside the file: <c>line,row_id,outcome,status,problems</c> and the
/// command's own columns. Rows found invalid here are REJECTED without a call; a refusal of one row (invalid, not found,
/// not possible) is that row's REJECTED; a failure of the service (unavailable, signed out) or Ctrl+C stops the run with
/// the other rows NOT_DONE. The file always holds one whole line per row. Used by any command with per-row calls.
/// </summary>
public static class RowByRow
{
    public const int InFlight = 4;

    public static readonly string[] Header = ["line", "row_id", "outcome", "status", "problems"];

    /// <summary>Where a command writes its results: --results, else beside the input as &lt;name&gt;.results.csv.</summary>
    public static string ResultsPath(FileInfo input, FileInfo? option) =>
        option?.FullName ?? Path.Combine(input.DirectoryName ?? ".", Path.GetFileNameWithoutExtension(input.Name) + ".results.csv");

    /// <summary>Runs the calls and writes the results; returns 0 when every row was done, 1 when one was rejected.</summary>
    public static async Task<int> RunAsync<T>(
        Printer printer, FileInfo input, CsvFile csv, IReadOnlyList<ChangeRow<T>> rows, string resultsPath, string[] extraColumns,
        Func<T, CancellationToken, Task<string[]>> call, CancellationToken cancellationToken)
        where T : class
    {
        var outcomes = new string[rows.Count][];
        printer.SavedOnInterrupt = $"{resultsPath} holds a result for every row (rows not sent are NOT_DONE); run the same command again to continue: rows already done are not applied twice";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        RpcException? failure = null;
        try
        {
            await RowProgress.RunAsync(printer, input.Name, "confirmed", rows.Count, async counter =>
            {
                for (var i = 0; i < rows.Count; i++)
                {
                    if (rows[i].Request is not null) continue;
                    outcomes[i] = Outcome(rows[i], "REJECTED", "INVALID_ARGUMENT", string.Join("; ", rows[i].Problems), extraColumns.Length);
                    counter.AddRows();
                    counter.AddErrors();
                }

                // Rows about the same employee go in file order, one chain each; chains run a few at a time.
                var chains = Enumerable.Range(0, rows.Count).Where(i => rows[i].Request is not null).GroupBy(i => rows[i].Key, StringComparer.Ordinal).ToList();
                using var slots = new SemaphoreSlim(InFlight);
                var running = chains.Select(async chain =>
                {
                    try
                    {
                        await slots.WaitAsync(stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    try
                    {
                        foreach (var i in chain)
                        {
                            stop.Token.ThrowIfCancellationRequested();
                            try
                            {
                                var extra = await call(rows[i].Request!, stop.Token);
                                outcomes[i] = [.. Outcome(rows[i], "DONE", "OK", "", 0), .. extra];
                            }
                            catch (RpcException ex) when (RowRefusal(ex.StatusCode))
                            {
                                outcomes[i] = Outcome(rows[i], "REJECTED", Commands.Values.Name(ex.StatusCode), Problems(ex), extraColumns.Length);
                                counter.AddErrors();
                            }

                            counter.AddRows();
                        }
                    }
                    catch (RpcException ex) when (!stop.IsCancellationRequested)
                    {
                        // The service, not the row: stop sending; what is done stays done.
                        Interlocked.CompareExchange(ref failure, ex, null);
                        await stop.CancelAsync();
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or RpcException && stop.IsCancellationRequested)
                    {
                        // Stopped by Ctrl+C or by another chain's failure: the row in flight stays NOT_DONE.
                    }
                    finally
                    {
                        slots.Release();
                    }
                }).ToList();
                await Task.WhenAll(running);
                return 0;
            });
        }
        finally
        {
            var reason = cancellationToken.IsCancellationRequested ? "INTERRUPTED" : failure is not null ? Commands.Values.Name(failure.StatusCode) : "NOT_SENT";
            for (var i = 0; i < rows.Count; i++)
                outcomes[i] ??= Outcome(rows[i], "NOT_DONE", reason, "not sent; run the same command again to send it", extraColumns.Length);
            Write(resultsPath, csv, [.. Header, .. extraColumns], outcomes);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (failure is not null) throw failure;
        var done = outcomes.Count(o => o[2] == "DONE");
        var rejected = outcomes.Count(o => o[2] == "REJECTED");
        if (printer.Json)
        {
            printer.JsonValue(new { rows = rows.Count, done, rejected, results = resultsPath });
        }
        else
        {
            printer.Text($"{Commands.Values.Number(rows.Count)} row(s): {Commands.Values.Number(done)} done, {Commands.Values.Number(rejected)} rejected");
            foreach (var outcome in outcomes.Where(o => o[2] == "REJECTED").Take(10))
                printer.Text($"line {outcome[0]} (row {outcome[1]}): {outcome[3]} {outcome[4]}");
            if (rejected > 10) printer.Text($"… and {Commands.Values.Number(rejected - 10)} more rejected rows.");
            printer.Text($"Results per row: {resultsPath}");
        }

        return rejected == 0 ? ExitCodes.Ok : ExitCodes.No;
    }

    /// <summary>Statuses that refuse one row (its data, its employee), not the run.</summary>
    public static bool RowRefusal(StatusCode code) => code is StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition
        or StatusCode.AlreadyExists or StatusCode.OutOfRange or StatusCode.PermissionDenied;

    /// <summary>The status's message and field violations as one results-file cell.</summary>
    public static string Problems(RpcException ex)
    {
        var parts = new List<string>();
        if (ex.GetDetail<Google.Rpc.BadRequest>() is { } bad) parts.AddRange(bad.FieldViolations.Select(v => $"{v.Field}: {v.Description}"));
        if (parts.Count == 0 && ex.Status.Detail.Length > 0) parts.Add(ex.Status.Detail);
        return string.Join("; ", parts);
    }

    /// <summary>Replaces the results file (written whole lines at a time; the input's delimiter and byte order mark).</summary>
    public static void Write(string path, CsvFile input, IReadOnlyList<string> header, IEnumerable<string[]> outcomes)
    {
        using var writer = CsvWriter.Create(path, input.Delimiter, input.ByteOrderMark);
        writer.WriteRecord(header);
        foreach (var outcome in outcomes) writer.WriteRecord(outcome);
    }

    private static string[] Outcome<T>(ChangeRow<T> row, string outcome, string status, string problems, int emptyColumns) where T : class =>
        [row.Source.Line.ToString(CultureInfo.InvariantCulture), row.RowId, outcome, status, problems, .. Enumerable.Repeat("", emptyColumns)];
}
