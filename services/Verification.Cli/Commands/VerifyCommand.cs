using System.CommandLine;
using Grpc.Core;
using Verification.Api.Membership.V1;

namespace Verification.Cli.Commands;

/// <summary><c>verification verify NIK</c>: is this person covered — and nothing more. Exit 0 covered, 1 not covered.</summary>
public static class VerifyCommand
{
    public static Command Create(CommandContext context)
    {
        var nik = new Argument<string>("nik") { Description = "The 16-digit NIK." };
        var asOf = new Option<string?>("--as-of") { Description = $"Check coverage on this date ({Values.DateHelp}) instead of today." };
        var command = new Command("verify", "Verify membership: covered or not, status, active programs and segment. Exit 0 when covered, 1 when not covered.") { nik, asOf };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var request = new VerifyMembershipRequest { Nik = result.GetValue(nik)! };
            if (result.GetValue(asOf) is { } date) request.AsOfDate = Values.Date(date, "--as-of");
            var response = await new MembershipService.MembershipServiceClient(channel).VerifyMembershipAsync(request, new CallOptions(cancellationToken: cancellationToken));
            if (printer.Json)
            {
                printer.Message(response);
            }
            else
            {
                printer.Line(response.Covered ? "[green]COVERED[/]" : "[yellow]NOT COVERED[/]");
                printer.Record(
                [
                    ("status", Values.Name(response.Status)),
                    ("programs", Values.Format(response.ActivePrograms)),
                    ("segment", response.Segment == Api.Common.V1.Segment.Unspecified ? "" : Values.Name(response.Segment)),
                ]);
            }
            return response.Covered ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }
}
