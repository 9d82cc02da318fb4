using System.CommandLine;
using Grpc.Core;
using Grpc.Health.V1;
using Spectre.Console;
using Verification.Api;

namespace Verification.Cli.Commands;

/// <summary><c>verification health</c>: the server's and every module's gRPC health; needs no credentials.</summary>
public static class HealthCommand
{
    public static Command Create(CommandContext context)
    {
        var wait = new Option<int>("--wait") { Description = "Wait up to this many seconds for every module to be SERVING (for scripts that start the host)." };
        var command = new Command("health", "Show whether the server and each module answer SERVING. Exit 0 when every module found is serving, 1 when one is not, 5 when the server cannot be reached.") { wait };
        command.SetAction(context.Run(async (result, channel, printer, cancellationToken) =>
        {
            var waitSeconds = result.GetValue(wait);
            if (waitSeconds < 0) throw new UsageException($"--wait: expected a number of seconds, 0 or more, got '{waitSeconds}'");
            var until = DateTimeOffset.UtcNow.AddSeconds(waitSeconds);
            List<(string Service, string Status)> rows;
            while (true)
            {
                try
                {
                    rows = await CheckAsync(channel, cancellationToken);
                    if (rows.All(r => r.Status is "SERVING" or "NOT_HOSTED") || DateTimeOffset.UtcNow >= until) break;
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && DateTimeOffset.UtcNow < until)
                {
                    // Not listening yet: the host is still starting.
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }

            if (printer.Json)
            {
                printer.JsonValue(rows.ToDictionary(r => r.Service, r => r.Status));
            }
            else
            {
                var table = new Table().AddColumn("service").AddColumn("status");
                foreach (var (service, status) in rows) table.AddRow(Markup.Escape(service), status == "SERVING" ? "[green]SERVING[/]" : $"[yellow]{status}[/]");
                printer.Write(table);
            }
            return rows.All(r => r.Status is "SERVING" or "NOT_HOSTED") ? ExitCodes.Ok : ExitCodes.No;
        }));
        return command;
    }

    private static async Task<List<(string Service, string Status)>> CheckAsync(ChannelBase channel, CancellationToken cancellationToken)
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
        return rows;
    }
}
