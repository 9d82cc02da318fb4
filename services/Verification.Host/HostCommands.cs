using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Verification.Api;
using Verification.Api.Channels;
using Verification.Platform.Hosting;

namespace Verification.Host;

/// <summary>
/// <c>verification-host</c> serves; <c>verification-host migrate</c> applies every chosen module's migrations and exits
/// (serving applies them at start-up too, so the command is for deployments that migrate as a separate step).
/// </summary>
public static class HostCommands
{
    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var command = args.FirstOrDefault(a => !a.StartsWith('-') && !a.Contains('='));
        switch (command)
        {
            case null or "serve":
                await app.StartAsync();
                PrintBanner(app);
                await app.WaitForShutdownAsync();
                return 0;
            case "migrate":
                // Starting runs every module's schema initializer before anything else; then stop at once.
                await app.StartAsync();
                await app.StopAsync();
                Console.WriteLine("migrations applied for: " + string.Join(", ", app.Services.GetRequiredService<VerificationHostContext>().Modules.Append(VerificationHost.AccessModule)));
                return 0;
            case "seed":
                // Nothing is started: the seeder resolves the membership database from the composed services and writes.
                return await Verification.Membership.Features.Seed.MembershipSeeder.RunAsync(app.Services, args, CancellationToken.None);
            default:
                Console.Error.WriteLine($"unknown command '{command}'; commands: serve (default), migrate, seed (seed --help)");
                return 2;
        }
    }

    /// <summary><c>health [--address URL] [--service NAME]</c>: exits 0 when the server answers SERVING (container and Kubernetes probes).</summary>
    public static async Task<int> CheckHealthAsync(string[] args)
    {
        string Option(string name, string fallback)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
        }
        var address = Option("--address", $"http://127.0.0.1:{VerificationOptions.DefaultPort}");
        var service = Option("--service", "");
        using var channel = new VerificationChannel(address, new ChannelSettings { RetryUnavailable = false });
        try
        {
            var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, RpcCalls.WithTimeout(TimeSpan.FromSeconds(3)));
            Console.WriteLine(response.Status);
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            Console.Error.WriteLine($"{ex.StatusCode}: {ex.Status.Detail}");
            return 1;
        }
    }

    private static void PrintBanner(WebApplication app)
    {
        var host = app.Services.GetRequiredService<VerificationHostContext>();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "?";
        Console.WriteLine($"Verification suite ({host.Options.Mode}) serving {string.Join(", ", host.Modules)} on {address} (gRPC, HTTP/2)");
        if (PartnerRest.RestAddress(app.Services) is { } rest)
            Console.WriteLine($"REST/JSON for partners on {rest} (OpenAPI document: {new Uri(rest, PartnerRest.DocumentPath)}, with a member token)");
        if (app.Services.GetService<DevelopmentCredentials>() is { } credentials)
        {
            Console.WriteLine($"Development member credentials{(credentials.CreatedNow ? " (created now)" : "")}: {credentials.Directory}/<member>.token");
            var port = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;
            Console.WriteLine("Try it:");
            Console.WriteLine($"  grpcurl -plaintext -H \"authorization: Bearer $(cat {credentials.Directory}/bank-bri.token)\" -d '{{\"nik\":\"3374014501900001\"}}' 127.0.0.1:{port} verification.membership.v1.MembershipService/VerifyMembership");
        }
    }
}
