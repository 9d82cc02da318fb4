using System.CommandLine;
using Grpc.Health.V1;
using Spectre.Console;
using Verification.Api;
using Grpc.Core;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Verification.Cli.Commands;

/// <summary><c>verification health</c>: the server's and every module's gRPC health.</summary>
public static class HealthCommand
{
    public static Command Create(CommandContext context)
    {
        var command = new Command("health", "Show whether the server and each module answer SERVING. Exit 0 when every module found is serving.");
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var rows = new List<(string Service, string Status)>();
            foreach (var service in ApiDescriptors.Services.Select(s => s.FullName).Prepend(""))
            {
                string status;
                try
                {
                    var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, new CallOptions(cancellationToken: cancellationToken));
                    status = Values.Name(response.Status); // NOT_SERVING, as grpc spells it
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    status = "NOT_HOSTED";
                }
                rows.Add((service.Length == 0 ? "(server)" : service, status));
            }
            if (printer.Json)
            {
                printer.JsonValue(rows.ToDictionary(r => r.Service, r => r.Status));
            }
            else
            {
                var table = new Table().AddColumn("service").AddColumn("status");
                foreach (var (service, status) in rows) table.AddRow(Markup.Escape(service), status == "SERVING" ? "[green]SERVING[/]" : $"[yellow]{status}[/]");
                printer.Console.Write(table);
            }
            return rows.All(r => r.Status is "SERVING" or "NOT_HOSTED") ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return command;
    }
}
