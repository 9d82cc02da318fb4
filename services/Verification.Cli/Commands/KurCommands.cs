using System.CommandLine;
using Spectre.Console;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Grpc.Core;

namespace Verification.Cli.Commands;

/// <summary><c>verification kur …</c>: a bank's KUR borrower enrolments.</summary>
public static class KurCommands
{
    public static Command Create(CommandContext context)
    {
        var kur = new Command("kur", "KUR borrower enrolment at loan time (bank members).");
        kur.Subcommands.Add(Enrol(context));
        kur.Subcommands.Add(Get(context));
        kur.Subcommands.Add(List(context));
        kur.Subcommands.Add(Report(context));
        return kur;
    }

    private static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    private static Command Enrol(CommandContext context)
    {
        var bank = Required("--bank-code", "Your bank code.");
        var loan = Required("--loan", "The SIKP loan reference.");
        var scheme = Required("--scheme", "SUPER_MIKRO, MIKRO, KECIL, PMI or KHUSUS.");
        var amount = new Option<long>("--amount") { Description = "Loan amount, whole rupiah.", Required = true };
        var disbursement = Required("--disbursement-date", "YYYY-MM-DD.");
        var nik = Required("--nik", "The borrower's NIK.");
        var name = Required("--name", "The borrower's full name.");
        var birth = Required("--birth-date", "YYYY-MM-DD.");
        var sex = Required("--sex", "M or F.");
        var sector = Required("--sector", "KBLI 2020 business code.");
        var region = Required("--region", "Kemendagri regency/city code, 4 digits.");
        var income = new Option<long>("--income") { Description = "Declared monthly income, whole rupiah.", Required = true };
        var command = new Command("enrol", "Check a borrower against the registry and enrol them (BPU: JKK + JKM) if not covered. Safe to repeat.")
        {
            bank, loan, scheme, amount, disbursement, nik, name, birth, sex, sector, region, income,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new EnrolBorrowerRequest
            {
                BankCode = result.GetValue(bank)!,
                LoanReference = result.GetValue(loan)!,
                Scheme = Values.Parse<KurScheme>(result.GetValue(scheme), "--scheme"),
                LoanAmountRupiah = result.GetValue(amount),
                DisbursementDate = Values.Date(result.GetValue(disbursement), "--disbursement-date"),
                Borrower = new Borrower
                {
                    Nik = result.GetValue(nik)!,
                    FullName = result.GetValue(name)!,
                    BirthDate = Values.Date(result.GetValue(birth), "--birth-date"),
                    Sex = Values.Sex(result.GetValue(sex), "--sex"),
                    BusinessSector = result.GetValue(sector)!,
                    RegionCode = result.GetValue(region)!,
                    DeclaredMonthlyIncomeRupiah = result.GetValue(income),
                },
            };
            var response = await new KurService.KurServiceClient(channel).EnrolBorrowerAsync(request, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response);
                return ExitCodes.Ok;
            }
            printer.Line($"[bold]{Values.Name(response.Outcome)}[/]");
            printer.Line($"programs: {Values.Format(response.Programs)}");
            if (response.Outcome == EnrolmentOutcome.Enrolled)
            {
                printer.Line($"participant number: {response.ParticipantNumber}");
                printer.Line($"monthly contribution: {Values.Rupiah(response.MonthlyContributionRupiah)}, first due {Values.Format(response.FirstDueDate)}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Get(CommandContext context)
    {
        var loan = new Argument<string>("loan") { Description = "The SIKP loan reference." };
        var command = new Command("get", "Show one enrolment record of your bank.") { loan };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var response = await new KurService.KurServiceClient(channel).GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = result.GetValue(loan)! }, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json) printer.Message(response.Enrolment);
            else printer.Console.Write(EnrolmentTable([response.Enrolment]));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(CommandContext context)
    {
        var from = new Option<string>("--from") { Description = "First day (YYYY-MM-DD, Asia/Jakarta).", Required = true };
        var to = new Option<string>("--to") { Description = "Last day, included.", Required = true };
        var command = new Command("list", "Your bank's enrolment records created between two days, for reconciliation.") { from, to };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new ListEnrolmentsRequest { CreateDateRange = new DateRange { StartDate = Values.Date(result.GetValue(from), "--from"), EndDate = Values.Date(result.GetValue(to), "--to") } };
            using var call = new KurService.KurServiceClient(channel).ListEnrolments(request, new CallOptions(cancellationToken: cancellationToken));
            var rows = new List<KurEnrolment>();
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                if (printer.Json) printer.Message(call.ResponseStream.Current.Enrolment);
                else rows.Add(call.ResponseStream.Current.Enrolment);
            }
            if (!printer.Json)
            {
                printer.Console.Write(EnrolmentTable(rows));
                printer.Line($"{rows.Count} record(s)");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Report(CommandContext context)
    {
        var from = new Option<string>("--from") { Description = "First month, YYYY-MM.", Required = true };
        var to = new Option<string>("--to") { Description = "Last month, YYYY-MM, included.", Required = true };
        var scheme = new Option<string?>("--scheme") { Description = "Only this scheme." };
        var command = new Command("report", "Borrowers seen, already covered and newly enrolled, per bank, scheme and month.") { from, to, scheme };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new GetCoverageReportRequest { StartMonth = Values.Month(result.GetValue(from), "--from"), EndMonth = Values.Month(result.GetValue(to), "--to") };
            if (result.GetValue(scheme) is { } s) request.Scheme = Values.Parse<KurScheme>(s, "--scheme");
            var response = await new KurService.KurServiceClient(channel).GetCoverageReportAsync(request, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response);
                return ExitCodes.Ok;
            }
            var table = new Table().AddColumns("bank", "month", "scheme", "seen", "already covered", "newly enrolled", "cancelled");
            foreach (var row in response.Rows)
                table.AddRow(row.BankCode, $"{row.Month.Year:D4}-{row.Month.Month:D2}", Values.Name(row.Scheme), row.BorrowersSeen.ToString("N0"), row.AlreadyCovered.ToString("N0"), row.NewlyEnrolled.ToString("N0"), row.Cancelled.ToString("N0"));
            printer.Console.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Table EnrolmentTable(IEnumerable<KurEnrolment> enrolments)
    {
        var table = new Table().AddColumns("loan", "scheme", "amount", "borrower", "outcome", "participant", "state", "created");
        foreach (var e in enrolments)
            table.AddRow(Markup.Escape(e.LoanReference), Values.Name(e.Scheme), Values.Rupiah(e.LoanAmountRupiah), e.MaskedNik, Values.Name(e.Outcome), e.ParticipantNumber, Values.Name(e.State), e.CreateTime?.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm") ?? "");
        return table;
    }
}
