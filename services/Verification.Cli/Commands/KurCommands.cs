using System.CommandLine;
using Grpc.Core;
using Spectre.Console;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;

namespace Verification.Cli.Commands;

/// <summary><c>verification kur …</c>: a bank's KUR borrower enrolments.</summary>
public static class KurCommands
{
    public static Command Create(CommandContext context)
    {
        var kur = new Command("kur", "KUR borrower enrolment at loan time (bank members). --bank-code defaults to your member's own.");
        kur.Subcommands.Add(Enrol(context));
        kur.Subcommands.Add(Get(context));
        kur.Subcommands.Add(List(context));
        kur.Subcommands.Add(Cancel(context));
        kur.Subcommands.Add(Report(context));
        return kur;
    }

    private static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    private static Option<string?> BankCode() => new("--bank-code") { Description = "Your bank code (default: your member's own)." };

    private static Command Enrol(CommandContext context)
    {
        var bank = BankCode();
        var loan = Required("--loan", "The SIKP loan reference.");
        var scheme = Required("--scheme", "SUPER_MIKRO, MIKRO, KECIL, PMI or KHUSUS.");
        var amount = new Option<long>("--amount") { Description = "Loan amount, whole rupiah.", Required = true };
        var disbursement = Required("--disbursement-date", Values.DateHelp + ".");
        var nik = Required("--nik", "The borrower's NIK.");
        var name = Required("--name", "The borrower's full name.");
        var birth = Required("--birth-date", Values.DateHelp + ".");
        var sex = Required("--sex", "M or F (L or P).");
        var sector = Required("--sector", "KBLI 2020 business code.");
        var region = Required("--region", "Kemendagri regency/city code, 4 digits.");
        var income = new Option<long>("--income") { Description = "Declared monthly income, whole rupiah.", Required = true };
        var command = new Command("enrol", "Check a borrower against the registry and enrol them (BPU: JKK + JKM) if not covered. Safe to repeat (the same loan gives the same answer).")
        {
            bank, loan, scheme, amount, disbursement, nik, name, birth, sex, sector, region, income,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new EnrolBorrowerRequest
            {
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
            request.BankCode = await new MemberScope(channel).BankCodeAsync(result.GetValue(bank), "--bank-code", cancellationToken);
            var response = await new KurService.KurServiceClient(channel).EnrolBorrowerAsync(request, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response);
                return ExitCodes.Ok;
            }

            var enrolled = response.Outcome == EnrolmentOutcome.Enrolled;
            printer.Line($"[bold]{Values.Name(response.Outcome)}[/]");
            printer.Record(
            [
                ("programs", Values.Format(response.Programs)),
                ("participant number", enrolled ? response.ParticipantNumber : ""),
                ("monthly contribution", enrolled ? Values.Rupiah(response.MonthlyContributionRupiah) : ""),
                ("first due", enrolled ? Values.Format(response.FirstDueDate) : ""),
                ("warnings", Values.Warnings(response.NikWarnings)),
            ]);
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
            else PrintRecord(printer, response.Enrolment);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(CommandContext context)
    {
        var from = new Option<string>("--from") { Description = $"First day ({Values.DateHelp}, Asia/Jakarta).", Required = true };
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
                printer.Write(EnrolmentTable(rows));
                printer.Text($"{Values.Number(rows.Count)} record(s)");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Cancel(CommandContext context)
    {
        var loan = new Argument<string>("loan") { Description = "The SIKP loan reference." };
        var bank = BankCode();
        var reason = new Option<string>("--reason") { Description = "LOAN_REJECTED, LOAN_WITHDRAWN, DATA_ERROR or OTHER.", Required = true };
        var command = new Command("cancel",
            "Cancel an enrolment before the loan is disbursed. The coverage the loan started ends: on the day it began it is void (the registry says NOT COVERED), "
            + "later it ends today. A borrower who was covered already keeps their coverage. Safe to repeat.")
        {
            loan, bank, reason,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new CancelEnrolmentRequest
            {
                LoanReference = result.GetValue(loan)!,
                Reason = Values.Parse<CancellationReason>(result.GetValue(reason), "--reason"),
            };
            request.BankCode = await new MemberScope(channel).BankCodeAsync(result.GetValue(bank), "--bank-code", cancellationToken);
            var response = await new KurService.KurServiceClient(channel).CancelEnrolmentAsync(request, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response);
                return ExitCodes.Ok;
            }

            printer.Line($"[bold]{Values.Name(response.Enrolment.State)}[/]");
            PrintRecord(printer, response.Enrolment,
                ("coverage ended", response.EndedPrograms.Count > 0 ? Values.Format(response.EndedPrograms) : "none (the borrower was covered before this loan)"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Report(CommandContext context)
    {
        var from = new Option<string>("--from") { Description = "First month, YYYY-MM or MM/YYYY.", Required = true };
        var to = new Option<string>("--to") { Description = "Last month, included.", Required = true };
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
                table.AddRow(row.BankCode, Values.Format(row.Month), Values.Name(row.Scheme), Values.Number(row.BorrowersSeen), Values.Number(row.AlreadyCovered), Values.Number(row.NewlyEnrolled), Values.Number(row.Cancelled));
            printer.Write(table);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void PrintRecord(Printer printer, KurEnrolment e, params (string Label, string Value)[] more)
    {
        var cancelled = e.State == EnrolmentState.Cancelled;
        printer.Record(
        [
            ("loan", e.LoanReference),
            ("bank", e.BankCode),
            ("scheme", Values.Name(e.Scheme)),
            ("amount", Values.Rupiah(e.LoanAmountRupiah)),
            ("disbursement", Values.Format(e.DisbursementDate)),
            ("borrower", e.MaskedNik),
            ("outcome", Values.Name(e.Outcome)),
            ("programs", Values.Format(e.Programs)),
            ("participant", e.ParticipantNumber),
            ("monthly contribution", e.MonthlyContributionRupiah > 0 ? Values.Rupiah(e.MonthlyContributionRupiah) : ""),
            ("state", Values.Name(e.State)),
            ("created", Instant(e.CreateTime)),
            ("cancelled", cancelled ? $"{Instant(e.CancelTime)} by {e.CancelMemberCode}: {Values.Name(e.CancelReason)}" : ""),
            .. more,
        ]);
    }

    private static string Instant(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time?.ToDateTimeOffset().ToOffset(TimeSpan.FromHours(7)).ToString("yyyy-MM-dd HH:mm 'WIB'", System.Globalization.CultureInfo.InvariantCulture) ?? "";

    private static Table EnrolmentTable(IEnumerable<KurEnrolment> enrolments)
    {
        var table = new Table().AddColumns("loan", "scheme", "amount", "borrower", "outcome", "participant", "state", "created");
        foreach (var e in enrolments)
            table.AddRow(Markup.Escape(e.LoanReference), Values.Name(e.Scheme), Values.Rupiah(e.LoanAmountRupiah), e.MaskedNik, Values.Name(e.Outcome), e.ParticipantNumber, Values.Name(e.State), Instant(e.CreateTime));
        return table;
    }
}
