using System.CommandLine;

namespace Verification.Cli.Commands;

/// <summary><c>verification whoami</c>: which member the credentials belong to, its role and scope.</summary>
public static class WhoAmICommand
{
    public static Command Create(CommandContext context)
    {
        var command = new Command("whoami", "Show the member your credentials belong to: code, name, role and scope (bank code, employer numbers, region). "
            + "Commands take --bank-code and --employer from this scope when it has exactly one.");
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var member = await new MemberScope(channel).MemberAsync(cancellationToken)
                ?? throw new CommandFailure(ExitCodes.Error, "this server does not tell members who they are (it has no AccessService)");
            if (printer.Json)
            {
                printer.Message(member);
                return ExitCodes.Ok;
            }

            printer.Record(
            [
                ("member", member.MemberCode),
                ("name", member.Name),
                ("role", Values.Name(member.Role)),
                ("bank code", member.BankCode),
                ("employer numbers", string.Join(", ", member.EmployerNumbers)),
                ("region", member.RegionCode),
            ]);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
