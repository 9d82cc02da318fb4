using System.CommandLine;
using Verification.Api.Membership.V1;
using Grpc.Core;

namespace Verification.Cli.Commands;

/// <summary><c>verification verify NIK</c>: is this person covered — and nothing more.</summary>
public static class VerifyCommand
{
    public static Command Create(CommandContext context)
    {
        var nik = new Argument<string>("nik") { Description = "The 16-digit NIK." };
        var asOf = new Option<string?>("--as-of") { Description = "Check coverage on this date (YYYY-MM-DD) instead of today." };
        var command = new Command("verify", "Verify membership: covered or not, status, active programs and segment.") { nik, asOf };
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
                printer.Line($"status:   {Values.Name(response.Status)}");
                if (response.ActivePrograms.Count > 0) printer.Line($"programs: {Values.Format(response.ActivePrograms)}");
                if (response.Segment != Api.Common.V1.Segment.Unspecified) printer.Line($"segment:  {Values.Name(response.Segment)}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
