using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Verification.Api.NonAsn.V1;
using Verification.Cli.Files;

namespace Verification.Cli.Commands;

/// <summary>
/// <c>verification nonasn change-wage | extend | end</c>: the changes an employer makes to employments already registered,
/// one employee from options or many from a CSV file (<c>--file</c>, one call per row, a results file beside it).
/// </summary>
public static class EmploymentChangeCommands
{
    private static readonly string[] ResultColumns = ["employment_id", "state", "contract_end_date", "monthly_wage_rupiah"];

    public static IEnumerable<Command> Create(CommandContext context)
    {
        yield return ChangeWage(context);
        yield return Extend(context);
        yield return End(context);
    }

    private sealed record Common(Option<string?> Employer, Option<string?> Nik, Option<FileInfo?> File, Option<FileInfo?> Results);

    private static Common AddCommon(Command command, string csvHelp)
    {
        var common = new Common(
            new Option<string?>("--employer") { Description = "Employer number (NPP) (default: your member's, when it has exactly one; in a file, rows may name theirs in employer_number)." },
            new Option<string?>("--nik") { Description = "The employee's NIK (one employee; or use --file)." },
            new Option<FileInfo?>("--file") { Description = "A CSV file of changes, one per row. " + csvHelp + " Optional columns: row_id (default: the line number), employer_number. Dates YYYY-MM-DD or DD/MM/YYYY." },
            new Option<FileInfo?>("--results") { Description = "With --file: where to write the per-row results (default: beside the input, <name>.results.csv)." });
        command.Options.Add(common.Employer);
        command.Options.Add(common.Nik);
        command.Options.Add(common.File);
        command.Options.Add(common.Results);
        return common;
    }

    private static Command ChangeWage(CommandContext context)
    {
        var contractStart = new Option<string?>("--contract-start") { Description = "Start of the employment's contract (with the NIK, which employment): " + Values.DateHelp + "." };
        var wage = new Option<string?>("--wage") { Description = "The new monthly wage, whole rupiah (3500000 or 3.500.000)." };
        var from = new Option<string?>("--from") { Description = "First day the new wage applies, within the contract: " + Values.DateHelp + "." };
        var command = new Command("change-wage", "Change an employee's monthly wage from a day on (contributions follow it). Safe to repeat. Exit 1 if a row of --file was rejected.")
        {
            contractStart, wage, from,
        };
        var common = AddCommon(command, "Columns: nik, contract_start_date, monthly_wage_rupiah, wage_effective_date.");
        command.SetAction(context.Run((result, channel, printer, cancellationToken) => RunAsync(result, channel, printer, common,
            ["contract_start_date", "monthly_wage_rupiah", "wage_effective_date"],
            fields => Update(fields, request =>
            {
                request.MonthlyWageRupiah = fields.Rupiah("monthly_wage_rupiah");
                request.WageEffectiveDate = fields.Date("wage_effective_date");
            }),
            new Dictionary<string, Option<string?>> { ["contract_start_date"] = contractStart, ["monthly_wage_rupiah"] = wage, ["wage_effective_date"] = from },
            cancellationToken)));
        return command;
    }

    private static Command Extend(CommandContext context)
    {
        var contractStart = new Option<string?>("--contract-start") { Description = "Start of the employment's contract (with the NIK, which employment): " + Values.DateHelp + "." };
        var until = new Option<string?>("--until") { Description = "The contract's new last day (later extends it, earlier shortens it; coverage follows): " + Values.DateHelp + "." };
        var command = new Command("extend", "Move the end of an employee's contract (an extension, or an earlier end); the coverage it gives follows. Safe to repeat. Exit 1 if a row of --file was rejected.")
        {
            contractStart, until,
        };
        var common = AddCommon(command, "Columns: nik, contract_start_date, contract_end_date.");
        command.SetAction(context.Run((result, channel, printer, cancellationToken) => RunAsync(result, channel, printer, common,
            ["contract_start_date", "contract_end_date"],
            fields => Update(fields, request => request.ContractEndDate = fields.Date("contract_end_date")),
            new Dictionary<string, Option<string?>> { ["contract_start_date"] = contractStart, ["contract_end_date"] = until },
            cancellationToken)));
        return command;
    }

    private static Command End(CommandContext context)
    {
        var date = new Option<string?>("--date") { Description = "The last day of employment (and of its coverage): " + Values.DateHelp + "." };
        var reason = new Option<string?>("--reason") { Description = "Why: CONTRACT_ENDED, RESIGNED, DISMISSED, APPOINTED_ASN, DECEASED or OTHER." };
        var command = new Command("end", "End an employee's active employment with your employer number; the coverage it gave ends on that day. Safe to repeat. Exit 1 if a row of --file was rejected.")
        {
            date, reason,
        };
        var common = AddCommon(command, "Columns: nik, end_date, reason.");
        command.SetAction(context.Run((result, channel, printer, cancellationToken) => RunAsync(result, channel, printer, common,
            ["end_date", "reason"],
            fields => new Change(null, new EndEmploymentRequest
            {
                EmployerNumber = fields.Employer,
                Nik = fields.Nik,
                EndDate = fields.Date("end_date"),
                Reason = fields.Enum<EmploymentEndReason>("reason"),
            }),
            new Dictionary<string, Option<string?>> { ["end_date"] = date, ["reason"] = reason },
            cancellationToken)));
        return command;
    }

    /// <summary>One change to make: an update or an end.</summary>
    private sealed record Change(UpdateEmploymentRequest? Update, EndEmploymentRequest? End);

    private static Change Update(Fields fields, Action<UpdateEmploymentRequest> set)
    {
        var request = new UpdateEmploymentRequest
        {
            EmployerNumber = fields.Employer,
            Nik = fields.Nik,
            ContractStartDate = fields.Date("contract_start_date"),
        };
        set(request);
        return new Change(request, null);
    }

    /// <summary>The values of one change (options or a CSV row), with the problems found reading them.</summary>
    private sealed class Fields(string employer, string nik, Func<string, string> get, Func<string, string> label)
    {
        public List<string> Problems { get; } = [];

        public string Employer => employer;

        public string Nik => nik;

        public Api.Common.V1.Date? Date(string column)
        {
            var text = get(column);
            if (text.Length == 0) return Missing<Api.Common.V1.Date?>(column, null);
            if (Values.TryDate(text, out var day)) return Values.ToApi(day);
            Problems.Add($"{label(column)}: expected a date as {Values.DateHelp}, got '{text}'");
            return null;
        }

        public long Rupiah(string column)
        {
            var text = get(column);
            if (text.Length == 0) return Missing(column, 0L);
            var problems = new List<(string, string)>();
            var amount = StaffCsv.Rupiah(text, label(column), problems);
            Problems.AddRange(problems.Select(p => $"{p.Item1}: {p.Item2}"));
            return amount;
        }

        public T Enum<T>(string column) where T : struct, System.Enum
        {
            var text = get(column);
            if (text.Length == 0) return Missing(column, default(T));
            var problems = new List<(string, string)>();
            var value = StaffCsv.Enum<T>(text, label(column), problems);
            Problems.AddRange(problems.Select(p => $"{p.Item1}: {p.Item2}"));
            return value;
        }

        private T Missing<T>(string column, T value)
        {
            Problems.Add($"{label(column)}: required");
            return value;
        }
    }

    private static async Task<int> RunAsync(
        ParseResult result, Api.Channels.VerificationChannel channel, Printer printer, Common common, string[] columns,
        Func<Fields, Change> build, Dictionary<string, Option<string?>> options, CancellationToken cancellationToken)
    {
        var client = new NonAsnService.NonAsnServiceClient(channel);
        var scope = new MemberScope(channel);
        if (result.GetValue(common.File) is { } input)
        {
            if (result.GetValue(common.Nik) is not null || options.Values.Any(o => result.GetValue(o) is not null))
                throw new UsageException($"--file: give the changes either in the file or as options ({string.Join(", ", options.Values.Select(o => o.Name).Prepend("--nik"))}), not both");
            return await FromFileAsync(result, printer, common, columns, build, client, scope, input, cancellationToken);
        }

        var nik = result.GetValue(common.Nik) ?? throw new UsageException("--nik: required (or give many changes with --file)");
        foreach (var (_, option) in options)
        {
            if (result.GetValue(option) is null) throw new UsageException($"{option.Name}: required");
        }

        var employer = await scope.EmployerAsync(result.GetValue(common.Employer), "--employer", cancellationToken);
        var fields = new Fields(employer, nik.Trim(), column => result.GetValue(options[column])!.Trim(), column => options[column].Name);
        var change = build(fields);
        if (fields.Problems.Count > 0) throw new UsageException(string.Join("; ", fields.Problems));
        var employment = await CallAsync(client, change, cancellationToken);
        if (printer.Json)
        {
            printer.Message(employment);
            return ExitCodes.Ok;
        }

        printer.Record(Describe(employment));
        return ExitCodes.Ok;
    }

    private static async Task<int> FromFileAsync(
        ParseResult result, Printer printer, Common common, string[] columns, Func<Fields, Change> build,
        NonAsnService.NonAsnServiceClient client, MemberScope scope, FileInfo input, CancellationToken cancellationToken)
    {
        var csv = InputFiles.ReadCsv(input, "changes");
        var missing = columns.Prepend("nik").Where(c => csv.Column(c) < 0).ToList();
        if (missing.Count > 0)
            throw new InvalidInputException($"the CSV header of {input.Name} lacks {string.Join(", ", missing)}; expected nik, {string.Join(", ", columns)} (optional: row_id, employer_number)");

        string Get(CsvRecord record, string column)
        {
            var index = csv.Column(column);
            return index >= 0 && index < record.Fields.Count ? record.Fields[index].Trim() : "";
        }

        var needsDefault = csv.Records.Any(r => Get(r, "employer_number").Length == 0);
        var defaultEmployer = needsDefault ? await scope.EmployerAsync(result.GetValue(common.Employer), "--employer", cancellationToken) : result.GetValue(common.Employer) ?? "";
        var rows = new List<ChangeRow<Change>>();
        foreach (var record in csv.Records)
        {
            var employer = Get(record, "employer_number") is { Length: > 0 } own ? own : defaultEmployer;
            var nik = Get(record, "nik");
            var fields = new Fields(employer, nik, column => Get(record, column), column => column);
            if (nik.Length == 0) fields.Problems.Add("nik: required");
            var change = build(fields);
            var rowId = Get(record, "row_id") is { Length: > 0 } id ? id : record.Line.ToString(CultureInfo.InvariantCulture);
            rows.Add(new ChangeRow<Change>(record, rowId, employer + "/" + nik, fields.Problems.Count == 0 ? change : null, fields.Problems));
        }

        await scope.CheckEmployersAsync(rows.Select(r => (r.Source.Line, r.Key[..r.Key.IndexOf('/', StringComparison.Ordinal)])), cancellationToken);
        return await RowByRow.RunAsync(printer, input, csv, rows, RowByRow.ResultsPath(input, result.GetValue(common.Results)), ResultColumns,
            async (change, token) =>
            {
                var employment = await CallAsync(client, change, token);
                return [employment.EmploymentId, Values.Name(employment.State), Values.Format(employment.Employee?.ContractEndDate ?? employment.EndDate),
                    (employment.Employee?.MonthlyWageRupiah ?? 0).ToString(CultureInfo.InvariantCulture)];
            }, cancellationToken);
    }

    private static async Task<Employment> CallAsync(NonAsnService.NonAsnServiceClient client, Change change, CancellationToken cancellationToken)
    {
        var options = new CallOptions(cancellationToken: cancellationToken);
        if (change.Update is { } update) return (await client.UpdateEmploymentAsync(update, options)).Employment;
        return (await client.EndEmploymentAsync(change.End!, options)).Employment;
    }

    private static IEnumerable<(string, string)> Describe(Employment e) =>
    [
        ("employment", e.EmploymentId),
        ("employer", e.EmployerNumber),
        ("NIK", e.Employee?.Nik ?? ""),
        ("name", e.Employee?.FullName ?? ""),
        ("participant", e.ParticipantNumber),
        ("contract", $"{Values.Format(e.Employee?.ContractStartDate)} – {Values.Format(e.Employee?.ContractEndDate)}"),
        ("monthly wage", e.Employee is null ? "" : Values.Rupiah(e.Employee.MonthlyWageRupiah)),
        ("state", e.State == EmploymentState.Ended ? $"ENDED {Values.Format(e.EndDate)} ({Values.Name(e.EndReason)})" : Values.Name(e.State)),
    ];
}
