using System.CommandLine;
using Grpc.Core;
using Spectre.Console;
using Verification.Api.Rentan.V1;
using ApiProgram = Verification.Api.Common.V1.Program;

namespace Verification.Cli.Commands;

/// <summary><c>verification rentan admin …</c>: a BPJS administrator registers or changes sponsors and their agreement per year.</summary>
public static class RentanAdminCommands
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static Command Create(CommandContext context)
    {
        var admin = new Command("admin", "Sponsors and their yearly agreements (BPJS administrator members). Every change is an audited event; repeating a command changes nothing.");
        admin.Subcommands.Add(Sponsor(context));
        admin.Subcommands.Add(ShowSponsor(context));
        admin.Subcommands.Add(Agreement(context));
        return admin;
    }

    private static Option<string> SponsorCode() => new("--sponsor") { Description = "The sponsor's member code (a SPONSOR member of the members file), e.g. sponsor-parepare.", Required = true };

    private static Command Sponsor(CommandContext context)
    {
        var sponsor = SponsorCode();
        var name = new Option<string>("--name") { Description = "The institution's name, e.g. \"Pemerintah Kota Parepare\".", Required = true };
        var regions = new Option<string[]>("--region")
        {
            Description = "A 2-digit province or 4-digit regency code the sponsor pays for; repeatable. Within the member's region scope.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("sponsor", "Register a sponsor, or change its name and regions.") { sponsor, name, regions };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new RegisterSponsorRequest { SponsorCode = result.GetValue(sponsor)!, Name = result.GetValue(name)! };
            request.RegionCodes.Add(result.GetValue(regions)!.SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            var saved = (await new RentanService.RentanServiceClient(channel).RegisterSponsorAsync(request, Options(cancellationToken))).Sponsor;
            if (printer.Json) { printer.Message(saved); return ExitCodes.Ok; }
            printer.Line($"{Markup.Escape(saved.SponsorCode)}: {Markup.Escape(saved.Name)}, regions {Markup.Escape(string.Join(",", saved.RegionCodes))}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ShowSponsor(CommandContext context)
    {
        var sponsor = SponsorCode();
        var command = new Command("show-sponsor", "A sponsor as registered: name and regions.") { sponsor };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var found = (await new RentanService.RentanServiceClient(channel).GetSponsorAsync(new GetSponsorRequest { SponsorCode = result.GetValue(sponsor)! }, Options(cancellationToken))).Sponsor;
            if (printer.Json) { printer.Message(found); return ExitCodes.Ok; }
            printer.Line($"{Markup.Escape(found.SponsorCode)}: {Markup.Escape(found.Name)}, regions {Markup.Escape(string.Join(",", found.RegionCodes))}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Agreement(CommandContext context)
    {
        var sponsor = SponsorCode();
        var year = new Option<int>("--year") { Description = "The budget year.", Required = true };
        var budget = new Option<long>("--budget") { Description = "The year's budget, whole rupiah.", Required = true };
        var jht = new Option<bool>("--jht") { Description = "Also pay JHT (old-age savings); JKK and JKM are always paid." };
        var start = new Option<string?>("--start") { Description = "First day, YYYY-MM-DD (default: 1 January of the year)." };
        var end = new Option<string?>("--end") { Description = "Last day, YYYY-MM-DD (default: 31 December of the year)." };
        var income = new Option<long>("--income") { Description = "Declared monthly income contributions are computed on, whole rupiah (default: the minimum declared income)." };
        var command = new Command("agreement", "Register or change a sponsor's agreement for a year. Once contributions are committed only the budget may change, never below what is committed.")
        {
            sponsor, year, budget, jht, start, end, income,
        };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var budgetYear = result.GetValue(year);
            // Bad values are sent as they are: the server's field violations name them.
            var request = new SaveAgreementRequest
            {
                SponsorCode = result.GetValue(sponsor)!,
                Year = budgetYear,
                BudgetRupiah = result.GetValue(budget),
                StartDate = result.GetValue(start) is { } first ? Values.Date(first, "--start") : Values.ToApi(new DateOnly(Math.Clamp(budgetYear, 1, 9999), 1, 1)),
                EndDate = result.GetValue(end) is { } last ? Values.Date(last, "--end") : Values.ToApi(new DateOnly(Math.Clamp(budgetYear, 1, 9999), 12, 31)),
                DeclaredMonthlyIncomeRupiah = result.GetValue(income),
            };
            request.Programs.Add([ApiProgram.Jkk, ApiProgram.Jkm]);
            if (result.GetValue(jht)) request.Programs.Add(ApiProgram.Jht);
            var saved = (await new RentanService.RentanServiceClient(channel).SaveAgreementAsync(request, Options(cancellationToken))).Agreement;
            if (printer.Json) { printer.Message(saved); return ExitCodes.Ok; }
            printer.Line($"{Markup.Escape(saved.AgreementId)}: {Values.Format(saved.Programs)} {Values.Format(saved.StartDate)} – {Values.Format(saved.EndDate)}, budget {Values.Rupiah(saved.BudgetRupiah)}, committed {Values.Rupiah(saved.CommittedRupiah)}, remaining {Values.Rupiah(saved.RemainingRupiah)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static CallOptions Options(CancellationToken cancellationToken) => new(deadline: DateTime.UtcNow.Add(Deadline), cancellationToken: cancellationToken);
}
