using System.CommandLine;
using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using Spectre.Console;
using Verification.Api.Common.V1;
using Verification.Api.Rentan.V1;
using Verification.Cli.Files;
using Verification.Cli.Output;

namespace Verification.Cli.Commands;

/// <summary><c>verification rentan …</c>: a sponsor's DTSEN extract, enrolment lists, the December update and invoices (Inpres 8/2025).</summary>
public static class RentanCommands
{
    public static readonly string[] ExtractColumns = ["nik", "household_id", "decile", "regency_code", "poverty_category"];

    public static readonly string[] ListColumns = ["nik", "full_name", "birth_date", "sex"];

    /// <summary>Header of the per-row results file written beside an enrolment list.</summary>
    public static readonly string[] ResultsHeader = ["line", "row_id", "outcome", "reason", "sponsorship_id", "participant_number", "committed_rupiah", "status", "problems"];

    /// <summary>Rows per message of an extract upload (the API suggests about 1,000).</summary>
    private const int RowsPerMessage = 1000;

    private static readonly TimeSpan LongCall = TimeSpan.FromHours(6);

    public static Command Create(CommandContext context)
    {
        var rentan = new Command("rentan", "Vulnerable workers sponsored by a local government (Inpres 8/2025): upload the DTSEN extract, enrol workers within the agreement's budget, run the December update, read invoices (sponsor members).");
        rentan.Subcommands.Add(Extract(context));
        rentan.Subcommands.Add(Enrol(context));
        rentan.Subcommands.Add(Agreement(context));
        rentan.Subcommands.Add(Update(context));
        rentan.Subcommands.Add(Invoice(context));
        rentan.Subcommands.Add(RentanAdminCommands.Create(context));
        return rentan;
    }

    private static Option<string> SponsorOption() => new("--sponsor") { Description = "Your sponsor code (your member code, e.g. sponsor-parepare).", Required = true };

    private static Command Extract(CommandContext context)
    {
        var file = new Argument<FileInfo>("extract.csv") { Description = $"The DTSEN extract: header {string.Join(", ", ExtractColumns)} (poverty_category EXTREME_POOR, POOR, NEAR_POOR, VULNERABLE or NOT_POOR)." };
        var sponsor = SponsorOption();
        var date = new Option<string>("--date") { Description = "The day the extract was taken from DTSEN, YYYY-MM-DD.", Required = true };
        var command = new Command("extract", "Upload a DTSEN extract; rejected rows are listed with their line. Sending the same extract again finishes an interrupted upload. Exit 1 if a row was rejected.")
        {
            file, sponsor, date,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var csv = Read(result.GetValue(file)!, ExtractColumns);
            var extractDate = Values.Date(result.GetValue(date), "--date");
            var rows = csv.Records.Select(r => ExtractRow(csv, r)).ToList();
            var client = new RentanService.RentanServiceClient(channel);
            using var call = client.UploadExtract(new CallOptions(deadline: DateTime.UtcNow.Add(LongCall), cancellationToken: cancellationToken));
            var writing = Task.Run(async () =>
            {
                await call.RequestStream.WriteAsync(new UploadExtractRequest { Header = new ExtractHeader { SponsorCode = result.GetValue(sponsor)!, ExtractDate = extractDate } }, cancellationToken);
                foreach (var chunk in rows.Chunk(RowsPerMessage))
                    await call.RequestStream.WriteAsync(new UploadExtractRequest { Rows = new ExtractRows { Rows = { chunk } } }, cancellationToken);
                await call.RequestStream.CompleteAsync();
            }, cancellationToken);
            var rejected = new List<ExtractRowError>();
            ExtractSummary? summary = null;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var part = call.ResponseStream.Current;
                if (part.Rejected is { } row) rejected.Add(row);
                else summary = part.Summary;
            }

            await writing;
            if (summary is null)
            {
                printer.Error("the upload ended without its summary; send the file again");
                return ExitCodes.Error;
            }

            if (printer.Json)
            {
                printer.Message(summary);
                foreach (var row in rejected) printer.Message(row);
            }
            else
            {
                var table = new Table().AddColumns("rows", "kept", "eligible (deciles 1-4)", "rejected", "rows in the extract");
                table.AddRow(summary.Rows.ToString("N0"), summary.Accepted.ToString("N0"), summary.Eligible.ToString("N0"),
                    summary.Rejected > 0 ? $"[red]{summary.Rejected:N0}[/]" : "0", summary.ExtractRows.ToString("N0"));
                printer.Console.Write(table);
                foreach (var row in rejected.Take(20))
                    printer.Line(Markup.Escape($"line {csv.Records[(int)row.Offset].Line}: {Values.Name(row.Error.Code)} {Problems(row.Error)}"));
                if (rejected.Count > 20) printer.Line($"… and {rejected.Count - 20:N0} more rejected rows.");
            }

            return rejected.Count == 0 ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static Command Enrol(CommandContext context)
    {
        var file = new Argument<FileInfo>("workers.csv") { Description = $"The enrolment list: header {string.Join(", ", ListColumns)} and optionally row_id, declared_monthly_income_rupiah (birth_date YYYY-MM-DD or DD/MM/YYYY, sex M or F)." };
        var sponsor = SponsorOption();
        var agreement = new Option<string>("--agreement") { Description = "The agreement id, e.g. sponsor-parepare-2026.", Required = true };
        var results = new Option<FileInfo?>("--results") { Description = "Where to write the per-row results (default: beside the input, <name>.results.csv)." };
        var command = new Command("enrol", "Enrol a list of workers under an agreement in force; the poorest deciles first when the budget does not cover everyone. Writes one result per row beside the file. Safe to repeat (enrolled rows come back UNCHANGED; rows answered UNAVAILABLE are finished). Exit 1 if any row was rejected.")
        {
            file, sponsor, agreement, results,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var input = result.GetValue(file)!;
            var csv = Read(input, ListColumns);
            var rows = csv.Records.Select(r => WorkerRow(csv, r)).ToList();
            var resultsPath = result.GetValue(results)?.FullName ?? Path.Combine(input.DirectoryName ?? ".", Path.GetFileNameWithoutExtension(input.Name) + ".results.csv");
            var client = new RentanService.RentanServiceClient(channel);
            using var call = client.EnrolWorkers(new CallOptions(deadline: DateTime.UtcNow.Add(LongCall), cancellationToken: cancellationToken));
            var writing = Task.Run(async () =>
            {
                await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Header = new EnrolmentListHeader { SponsorCode = result.GetValue(sponsor)!, AgreementId = result.GetValue(agreement)! } }, cancellationToken);
                foreach (var row in rows) await call.RequestStream.WriteAsync(new EnrolWorkersRequest { Row = row }, cancellationToken);
                await call.RequestStream.CompleteAsync();
            }, cancellationToken);
            var outcomes = new string[rows.Count][];
            EnrolWorkersSummary? summary = null;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var part = call.ResponseStream.Current;
                if (part.Summary is { } s) { summary = s; continue; }
                var row = part.Row;
                if (row is null || row.Offset < 0 || row.Offset >= rows.Count) continue;
                outcomes[row.Offset] =
                [
                    csv.Records[(int)row.Offset].Line.ToString(CultureInfo.InvariantCulture), row.RowId, Values.Name(row.Outcome),
                    row.Reason == WorkerReason.Unspecified ? "" : Values.Name(row.Reason), row.SponsorshipId, row.ParticipantNumber,
                    row.CommittedRupiah == 0 ? "" : row.CommittedRupiah.ToString(CultureInfo.InvariantCulture), row.Error is null ? "" : Values.Name(row.Error.Code), Problems(row.Error),
                ];
            }

            await writing;
            for (var i = 0; i < rows.Count; i++)
                outcomes[i] ??= [csv.Records[i].Line.ToString(CultureInfo.InvariantCulture), rows[i].RowId, "REJECTED", "", "", "", "", "UNKNOWN", "the server gave no result for this row; send the file again"];
            using (var writer = CsvWriter.Create(resultsPath, csv.Delimiter, csv.ByteOrderMark))
            {
                writer.WriteRecord(ResultsHeader);
                foreach (var outcome in outcomes) writer.WriteRecord(outcome);
            }

            var rejected = outcomes.Count(o => o[2] == "REJECTED");
            if (printer.Json)
            {
                printer.JsonValue(new { rows = rows.Count, enrolled = summary?.Enrolled, unchanged = summary?.Unchanged, refused = summary?.Refused, rejected, committedRupiah = summary?.CommittedRupiah, remainingRupiah = summary?.RemainingRupiah, results = resultsPath });
            }
            else
            {
                var table = new Table().AddColumns("rows", "enrolled", "unchanged", "refused", "rejected", "committed", "budget remaining");
                table.AddRow(rows.Count.ToString("N0"), $"{summary?.Enrolled:N0}", $"{summary?.Unchanged:N0}", $"{summary?.Refused:N0}", rejected > 0 ? $"[red]{rejected:N0}[/]" : "0",
                    Values.Rupiah(summary?.CommittedRupiah ?? 0), Values.Rupiah(summary?.RemainingRupiah ?? 0));
                printer.Console.Write(table);
                printer.Line(Markup.Escape($"Results per row: {resultsPath}"));
            }

            return summary is null ? ExitCodes.Error : rejected == 0 ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static Command Agreement(CommandContext context)
    {
        var sponsor = SponsorOption();
        var year = new Option<int>("--year") { Description = "The budget year.", Required = true };
        var command = new Command("agreement", "The year's agreement: budget, committed, pending and remaining, workers.") { sponsor, year };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var agreement = (await new RentanService.RentanServiceClient(channel).GetAgreementAsync(
                new GetAgreementRequest { SponsorCode = result.GetValue(sponsor)!, Year = result.GetValue(year) }, cancellationToken: cancellationToken)).Agreement;
            if (printer.Json) { printer.Message(agreement); return ExitCodes.Ok; }
            var table = new Table().AddColumns("agreement", "programs", "period", "budget", "committed", "pending", "remaining", "workers");
            table.AddRow(agreement.AgreementId, Values.Format(agreement.Programs), $"{Values.Format(agreement.StartDate)} – {Values.Format(agreement.EndDate)}", Values.Rupiah(agreement.BudgetRupiah),
                Values.Rupiah(agreement.CommittedRupiah), Values.Rupiah(agreement.PendingRupiah), Values.Rupiah(agreement.RemainingRupiah), agreement.WorkerCount.ToString("N0"));
            printer.Console.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Update(CommandContext context)
    {
        var sponsor = SponsorOption();
        var year = new Option<int>("--year") { Description = "The year whose workers are re-checked against the current extract (renewals go into the next year).", Required = true };
        var report = new Option<FileInfo?>("--report") { Description = "Where to write the report, one line per person (default: rentan-update-<sponsor>-<year>.csv)." };
        var command = new Command("update", "The December update: re-check the year's workers against the current extract, renew the eligible into next year's agreement as its budget allows, end the others; writes the report. Safe to repeat.")
        {
            sponsor, year, report,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var code = result.GetValue(sponsor)!;
            var path = result.GetValue(report)?.FullName ?? Path.GetFullPath(string.Create(CultureInfo.InvariantCulture, $"rentan-update-{code}-{result.GetValue(year)}.csv"));
            using var call = new RentanService.RentanServiceClient(channel).RunAnnualUpdate(
                new RunAnnualUpdateRequest { SponsorCode = code, Year = result.GetValue(year) }, new CallOptions(deadline: DateTime.UtcNow.Add(LongCall), cancellationToken: cancellationToken));
            AnnualUpdateSummary? summary = null;
            using (var writer = CsvWriter.Create(path, ',', byteOrderMark: false))
            {
                writer.WriteRecord(["outcome", "nik", "full_name", "participant_number", "decile", "reason", "sponsorship_id", "committed_rupiah", "end_date"]);
                while (await call.ResponseStream.MoveNext(cancellationToken))
                {
                    var part = call.ResponseStream.Current;
                    if (part.Summary is { } s) { summary = s; continue; }
                    var line = part.Line;
                    writer.WriteRecord([Values.Name(line.Outcome), line.Nik, line.FullName, line.ParticipantNumber, line.Decile.ToString(CultureInfo.InvariantCulture),
                        line.Reason == WorkerReason.Unspecified ? "" : Values.Name(line.Reason), line.SponsorshipId,
                        line.CommittedRupiah == 0 ? "" : line.CommittedRupiah.ToString(CultureInfo.InvariantCulture), Values.Format(line.EndDate)]);
                }
            }

            if (summary is null)
            {
                printer.Error("the report ended without its summary; run the update again (what was decided is kept)");
                return ExitCodes.Error;
            }

            if (printer.Json) { printer.Message(summary); return ExitCodes.Ok; }
            var table = new Table().AddColumns("workers", "renewed", "ended", "newly eligible", "next agreement", "renewals committed", "next year remaining");
            table.AddRow(summary.Workers.ToString("N0"), summary.Renewed.ToString("N0"), summary.Ended.ToString("N0"), summary.NewlyEligible.ToString("N0"),
                summary.NextAgreementId.Length == 0 ? "(none)" : summary.NextAgreementId, Values.Rupiah(summary.RenewalCommittedRupiah), Values.Rupiah(summary.NextRemainingRupiah));
            printer.Console.Write(table);
            printer.Line(Markup.Escape($"Report: {path}"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Invoice(CommandContext context)
    {
        var sponsor = SponsorOption();
        var month = new Option<string>("--month") { Description = "The contribution month, YYYY-MM.", Required = true };
        var command = new Command("invoice", "The month's invoice: contributions per worker and program, the total, and the year's budget.") { sponsor, month };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new GetInvoiceRequest { SponsorCode = result.GetValue(sponsor)!, Month = Values.Month(result.GetValue(month), "--month") };
            using var call = new RentanService.RentanServiceClient(channel).GetInvoice(request, new CallOptions(deadline: DateTime.UtcNow.Add(LongCall), cancellationToken: cancellationToken));
            var workers = new Table().AddColumns("NIK", "name", "participant", "income", "total");
            InvoiceTotals? totals = null;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var part = call.ResponseStream.Current;
                if (printer.Json) printer.Message(part);
                if (part.Line is { } l) workers.AddRow(l.Nik, Markup.Escape(l.FullName), l.ParticipantNumber, Values.Rupiah(l.DeclaredMonthlyIncomeRupiah), Values.Rupiah(l.TotalRupiah));
                else if (part.Totals is { } t) totals = t;
            }

            if (totals is null)
            {
                printer.Error("the invoice ended without its totals; it may be incomplete, try again");
                return ExitCodes.Error;
            }

            if (printer.Json) return ExitCodes.Ok;
            printer.Console.Write(workers);
            var lines = new Table().AddColumns("program", "total");
            foreach (var line in totals.Lines) lines.AddRow(Values.Name(line.Program), Values.Rupiah(line.TotalRupiah));
            lines.AddRow("[bold]all[/]", $"[bold]{Values.Rupiah(totals.TotalRupiah)}[/]");
            printer.Console.Write(lines);
            printer.Line($"{totals.WorkerCount:N0} worker(s); {totals.AgreementId}: budget {Values.Rupiah(totals.BudgetRupiah)}, committed {Values.Rupiah(totals.CommittedRupiah)}, remaining {Values.Rupiah(totals.RemainingRupiah)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static ExtractRow ExtractRow(CsvFile csv, CsvRecord record)
    {
        // Values the server cannot read are sent unset, so its answer names the field.
        var row = new ExtractRow
        {
            Nik = Field(csv, record, "nik"),
            HouseholdId = Field(csv, record, "household_id"),
            RegencyCode = Field(csv, record, "regency_code"),
            Decile = int.TryParse(Field(csv, record, "decile"), NumberStyles.None, CultureInfo.InvariantCulture, out var decile) ? decile : 0,
        };
        try
        {
            row.PovertyCategory = Values.Parse<PovertyCategory>(Field(csv, record, "poverty_category"), "poverty_category");
        }
        catch (UsageException)
        {
            row.PovertyCategory = PovertyCategory.Unspecified;
        }

        return row;
    }

    private static WorkerRow WorkerRow(CsvFile csv, CsvRecord record)
    {
        var row = new WorkerRow
        {
            RowId = Field(csv, record, "row_id") is { Length: > 0 } id ? id : record.Line.ToString(CultureInfo.InvariantCulture),
            Nik = Field(csv, record, "nik"),
            FullName = Field(csv, record, "full_name"),
            BirthDate = BirthDate(Field(csv, record, "birth_date")),
        };
        try
        {
            row.Sex = Values.Sex(Field(csv, record, "sex"), "sex");
        }
        catch (UsageException)
        {
            row.Sex = Sex.Unspecified;
        }

        if (long.TryParse(Field(csv, record, "declared_monthly_income_rupiah"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var income)) row.DeclaredMonthlyIncomeRupiah = income;
        return row;
    }

    private static Date? BirthDate(string text) =>
        DateOnly.TryParseExact(text, ["yyyy-MM-dd", "dd/MM/yyyy"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? new Date { Year = day.Year, Month = day.Month, Day = day.Day }
            : null;

    private static string Field(CsvFile csv, CsvRecord record, string column)
    {
        var index = csv.Column(column);
        return index >= 0 && index < record.Fields.Count ? record.Fields[index].Trim() : "";
    }

    private static CsvFile Read(FileInfo input, string[] required)
    {
        if (!input.Exists) throw new UsageException($"{input.FullName} does not exist");
        CsvFile csv;
        try
        {
            csv = CsvFile.Read(input.FullName);
        }
        catch (FormatException ex)
        {
            throw new UsageException(ex.Message);
        }

        var missing = required.Where(c => csv.Column(c) < 0).ToList();
        if (missing.Count > 0) throw new UsageException($"{input.Name}: the header lacks {string.Join(", ", missing)}");
        return csv;
    }

    private static string Problems(RowError? error)
    {
        if (error is null) return "";
        var parts = error.FieldViolations.Select(v => $"{v.Field}: {v.Description}").ToList();
        if (parts.Count == 0 || error.Code != Code.InvalidArgument) parts.Insert(0, error.Message);
        return string.Join("; ", parts.Where(p => p.Length > 0));
    }
}
