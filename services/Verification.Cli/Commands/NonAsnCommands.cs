using System.CommandLine;
using System.Globalization;
using Google.Rpc;
using Spectre.Console;
using Verification.Api.Common.V1;
using Verification.Api.NonAsn.V1;
using Verification.Cli.Files;
using Verification.Cli.Output;
using Grpc.Core;
using Verification.Api;

namespace Verification.Cli.Commands;

/// <summary><c>verification nonasn …</c>: an agency's or local government's non-ASN staff.</summary>
public static class NonAsnCommands
{
    /// <summary>Header of the per-row results file written beside the staff list.</summary>
    public static readonly string[] ResultsHeader = ["line", "row_id", "outcome", "employment_id", "participant_number", "status", "problems", "warnings"];

    public static Command Create(CommandContext context)
    {
        var nonasn = new Command("nonasn", "Register non-ASN staff and read their employments and contribution statements (agency and local-government members).");
        nonasn.Subcommands.Add(Register(context));
        nonasn.Subcommands.Add(List(context));
        nonasn.Subcommands.Add(Statement(context));
        foreach (var change in EmploymentChangeCommands.Create(context)) nonasn.Subcommands.Add(change);
        return nonasn;
    }

    private static Command Register(CommandContext context)
    {
        var file = new Argument<FileInfo>("staff.csv") { Description = "The staff list. " + StaffCsv.Help };
        var employer = new Option<string?>("--employer") { Description = "Employer number (NPP) for rows without an employer_number column (default: your member's, when it has exactly one)." };
        var results = new Option<FileInfo?>("--results") { Description = "Where to write the per-row results (default: beside the input, <name>.results.csv)." };
        var command = new Command("register", "Register every row of a staff list, streaming it with a progress bar; writes one result per row beside the file (with a warnings column for NIKs that disagree with the stated birth date or sex). Safe to repeat (registered rows come back UNCHANGED). Exit 1 if any row was rejected, 3 if a row is for an employer outside your scope (nothing is sent).")
        {
            file, employer, results,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var input = result.GetValue(file)!;
            var csv = InputFiles.ReadCsv(input, "staff rows");
            StaffCsv.CheckHeader(csv);
            var scope = new MemberScope(channel);
            var employerColumn = csv.Column("employer_number");
            var needsDefault = employerColumn < 0 || csv.Records.Any(r => employerColumn >= r.Fields.Count || r.Fields[employerColumn].Trim().Length == 0);
            var defaultEmployer = needsDefault ? await scope.EmployerAsync(result.GetValue(employer), "--employer", cancellationToken) : result.GetValue(employer);
            var rows = csv.Records.Select(r => StaffCsv.Parse(csv, r, defaultEmployer)).ToList();
            await scope.CheckEmployersAsync(rows.Where(r => r.Request is not null).Select(r => (r.Source.Line, r.Request!.EmployerNumber)), cancellationToken);

            var outcomes = new string[rows.Count][];
            var resultsPath = RowByRow.ResultsPath(input, result.GetValue(results));
            printer.SavedOnInterrupt = $"{resultsPath} holds a result for every row (rows not answered are NOT_DONE); run the same command again to continue: registered rows come back UNCHANGED";
            RegisterEmployeesSummary? summary = null;
            RpcException? failure = null;
            try
            {
                summary = await RowProgress.RunAsync(printer, input.Name, "confirmed", rows.Count, counter => SendAsync(new NonAsnService.NonAsnServiceClient(channel), rows, outcomes, counter, cancellationToken));
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failure = ex;
            }
            finally
            {
                // Whatever happened, the clerk sees which rows are done: the rest are NOT_DONE, one whole line each.
                var reason = cancellationToken.IsCancellationRequested ? "INTERRUPTED" : failure is not null ? Values.Name(failure.StatusCode) : "UNKNOWN";
                for (var i = 0; i < rows.Count; i++)
                    outcomes[i] ??= Outcome(rows[i], "NOT_DONE", "", "", reason, "the upload stopped before this row was answered; send the file again (done rows come back UNCHANGED)", "");
                WriteResults(resultsPath, csv, outcomes);
            }

            if (failure is not null)
            {
                printer.Error($"results so far: {resultsPath}");
                throw failure;
            }

            var rejected = outcomes.Count(o => o[2] == "REJECTED");
            var registered = outcomes.Count(o => o[2] == "REGISTERED");
            var unchanged = outcomes.Count(o => o[2] == "UNCHANGED");
            var warned = outcomes.Count(o => o[7].Length > 0);
            if (summary is not null && (summary.Rows != rows.Count - rows.Count(r => r.Request is null) || summary.Rejected + summary.Registered + summary.Unchanged != summary.Rows))
                printer.Error($"the server's summary ({summary.Rows} rows) does not match the rows sent; check {resultsPath}");
            if (printer.Json)
            {
                printer.JsonValue(new { rows = rows.Count, registered, unchanged, rejected, warnings = warned, results = resultsPath });
            }
            else
            {
                printer.Record([
                    ("rows", Values.Number(rows.Count)), ("registered", Values.Number(registered)), ("unchanged", Values.Number(unchanged)),
                    ("rejected", Values.Number(rejected)), ("with NIK warnings", warned > 0 ? Values.Number(warned) : ""),
                ]);
                foreach (var outcome in outcomes.Where(o => o[2] == "REJECTED").Take(10))
                    printer.Text($"line {outcome[0]} (row {outcome[1]}): {outcome[5]} {outcome[6]}");
                if (rejected > 10) printer.Text($"… and {Values.Number(rejected - 10)} more rejected rows.");
                foreach (var outcome in outcomes.Where(o => o[7].Length > 0).Take(10))
                    printer.Text($"line {outcome[0]} (row {outcome[1]}): warning: {outcome[7]}");
                if (warned > 10) printer.Text($"… and {Values.Number(warned - 10)} more rows with NIK warnings (see the warnings column).");
                printer.Text($"Results per row: {resultsPath}");
            }
            return rejected == 0 ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    /// <summary>Streams the sendable rows while reading replies (the contract requires both at once); fills one outcome per answered row.</summary>
    private static async Task<RegisterEmployeesSummary?> SendAsync(NonAsnService.NonAsnServiceClient client, List<StaffCsv.Row> rows, string[][] outcomes, RowCounter counter, CancellationToken cancellationToken)
    {
        var sent = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Request is null)
            {
                outcomes[i] = Outcome(rows[i], "REJECTED", "", "", "INVALID_ARGUMENT", string.Join("; ", rows[i].Problems.Select(p => $"{p.Field}: {p.Problem}")), "");
                counter.AddRows();
                counter.AddErrors();
            }
            else
            {
                sent.Add(i);
            }
        }
        if (sent.Count == 0) return null;

        // One long deadline for the whole upload: a large list takes longer than one unary call.
        using var call = client.RegisterEmployees(new CallOptions(deadline: DateTime.UtcNow.AddHours(6), cancellationToken: cancellationToken));
        var writing = Task.Run(async () =>
        {
            foreach (var index in sent) await call.RequestStream.WriteAsync(rows[index].Request!, cancellationToken);
            await call.RequestStream.CompleteAsync();
        }, cancellationToken);

        RegisterEmployeesSummary? summary = null;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var response = call.ResponseStream.Current;
            if (response.Summary is { } s) { summary = s; continue; }
            var row = response.Row;
            if (row is null || row.Offset < 0 || row.Offset >= sent.Count) continue;
            var index = sent[(int)row.Offset];
            // The bar counts what the server confirmed, not what was handed to the network.
            counter.AddRows();
            if (row.Outcome == RegistrationOutcome.Rejected) counter.AddErrors();
            outcomes[index] = Outcome(rows[index], Values.Name(row.Outcome), row.EmploymentId, row.ParticipantNumber, row.Error is null ? "" : Values.Name(row.Error.Code), Problems(row.Error), Values.Warnings(row.NikWarnings));
        }
        await writing;
        foreach (var index in sent.Where(i => outcomes[i] is null))
            outcomes[index] = Outcome(rows[index], "REJECTED", "", "", "UNKNOWN", "the server gave no result for this row; send the file again (registered rows come back UNCHANGED)", "");
        return summary;
    }

    private static void WriteResults(string path, CsvFile input, string[][] outcomes) => RowByRow.Write(path, input, ResultsHeader, outcomes);

    private static string[] Outcome(StaffCsv.Row row, string outcome, string employmentId, string participant, string status, string problems, string warnings) =>
        [row.Source.Line.ToString(CultureInfo.InvariantCulture), row.RowId, outcome, employmentId, participant, status, problems, warnings];

    private static string Problems(RowError? error)
    {
        if (error is null) return "";
        var parts = error.FieldViolations.Select(v => $"{v.Field}: {v.Description}").ToList();
        if (parts.Count == 0 || error.Code != Code.InvalidArgument) parts.Insert(0, error.Message);
        return string.Join("; ", parts.Where(p => p.Length > 0));
    }

    private static Command List(CommandContext context)
    {
        var employer = new Option<string>("--employer") { Description = "Your employer number (NPP).", Required = true };
        var activeOnly = new Option<bool>("--active-only") { Description = "Only employments in force today." };
        var command = new Command("list", "The employments of one of your employer numbers, ordered by NIK.") { employer, activeOnly };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new ListEmployeesRequest { EmployerNumber = result.GetValue(employer)!, ActiveOnly = result.GetValue(activeOnly) };
            using var call = new NonAsnService.NonAsnServiceClient(channel).ListEmployees(request, new CallOptions(cancellationToken: cancellationToken));
            var table = new Table().AddColumns("NIK", "name", "type", "work unit", "contract", "wage", "participant", "state");
            var count = 0;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var e = call.ResponseStream.Current.Employment;
                count++;
                if (printer.Json) { printer.Message(e); continue; }
                table.AddRow(e.Employee.Nik, Markup.Escape(e.Employee.FullName), Values.Name(e.Employee.EmploymentType), Markup.Escape(e.Employee.WorkUnit),
                    $"{Values.Format(e.Employee.ContractStartDate)} – {Values.Format(e.Employee.ContractEndDate)}", Values.Rupiah(e.Employee.MonthlyWageRupiah), e.ParticipantNumber,
                    e.State == EmploymentState.Ended ? $"ENDED {Values.Format(e.EndDate)}" : Values.Name(e.State));
            }
            if (!printer.Json)
            {
                printer.Console.Write(table);
                printer.Line($"{count:N0} employment(s)");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Statement(CommandContext context)
    {
        var employer = new Option<string>("--employer") { Description = "Your employer number (NPP).", Required = true };
        var month = new Option<string>("--month") { Description = "The contribution month, YYYY-MM.", Required = true };
        var command = new Command("statement", "The month's contributions per employee and the totals per program, employer and worker shares.") { employer, month };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new GetContributionStatementRequest { EmployerNumber = result.GetValue(employer)!, Month = Values.Month(result.GetValue(month), "--month") };
            using var call = new NonAsnService.NonAsnServiceClient(channel).GetContributionStatement(request, new CallOptions(cancellationToken: cancellationToken));
            var employees = new Table().AddColumns("NIK", "name", "participant", "wage", "total");
            StatementTotals? totals = null;
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var part = call.ResponseStream.Current;
                if (printer.Json) printer.Message(part);
                if (part.Employee is { } e)
                    employees.AddRow(e.Nik, Markup.Escape(e.FullName), e.ParticipantNumber, Values.Rupiah(e.MonthlyWageRupiah), Values.Rupiah(e.TotalRupiah));
                else if (part.Totals is { } t)
                    totals = t;
            }
            if (printer.Json) return ExitCodes.Ok;
            printer.Console.Write(employees);
            if (totals is null)
            {
                printer.Error("the statement ended without its totals; it may be incomplete, try again");
                return ExitCodes.Error;
            }
            var lines = new Table().AddColumns("program", "employer", "worker", "total");
            foreach (var line in totals.Lines)
                lines.AddRow(Values.Name(line.Program), Values.Rupiah(line.EmployerShareRupiah), Values.Rupiah(line.WorkerShareRupiah), Values.Rupiah(line.TotalRupiah));
            lines.AddRow("[bold]all[/]", Values.Rupiah(totals.EmployerTotalRupiah), Values.Rupiah(totals.WorkerTotalRupiah), $"[bold]{Values.Rupiah(totals.TotalRupiah)}[/]");
            printer.Console.Write(lines);
            printer.Line($"{totals.EmployeeCount:N0} employee(s)");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
