using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;
using Verification.Platform.Hosting;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>A module's client over two Membership replicas (one PostgreSQL registry): calls spread, and leave a replica that stops.</summary>
public sealed class ReplicaRoutingTests
{
    private const string MembershipPath = "/verification.membership.v1.MembershipService/";

    /// <summary>A module with no service of its own that calls Membership through the platform's module client, as Kur does.</summary>
    private static readonly VerificationModule Caller = new("caller", (builder, _) => builder.Services.AddModuleClient<MembershipService.MembershipServiceClient>("membership"), _ => { });

    [Fact]
    public async Task CallsThroughAListOfReplicasReachBothAndMoveToTheSurvivorWhenOneStops()
    {
        var server = await PostgresServer.SharedAsync();
        var data = Path.Combine(Path.GetTempPath(), "verification-replica-routing-" + Guid.NewGuid().ToString("N"));
        string[] databases =
        [
            "Verification:Database:Provider=Postgres",
            $"Verification:Database:ConnectionStrings:membership={await server.CreateDatabaseAsync("membership")}",
            $"Verification:Database:ConnectionStrings:access={await server.CreateDatabaseAsync("access")}",
        ];
        var served = new ConcurrentDictionary<int, int>();
        var replicas = new List<WebApplication>();
        WebApplication? caller = null;
        try
        {
            // Started one after the other: the first writes the development members and keys the second then reads.
            for (var i = 0; i < 2; i++) replicas.Add(await StartAsync(data, [MembershipModule.Module], [.. databases], served, i));
            var ports = replicas.Select(r => new Uri(r.Urls.First()).Port).ToList();
            caller = await StartAsync(data, [MembershipModule.Module, Caller], ["Verification:Services=caller", $"Verification:Endpoints:membership=http://127.0.0.1:{ports[0]},http://127.0.0.1:{ports[1]}"], served, -1);
            var client = caller.Services.GetRequiredService<ModuleClient<MembershipService.MembershipServiceClient>>().Client;
            var request = new VerifyMembershipRequest { Nik = TestData.Nik() };

            // Round robin over both once both are connected: every call is answered, and each replica answers some.
            await WaitUntilAsync(async () =>
            {
                await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                return served.GetValueOrDefault(0) > 0 && served.GetValueOrDefault(1) > 0;
            }, "both replicas answered calls");
            var before = served.ToDictionary();
            for (var i = 0; i < 20; i++) await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.InRange(served[0] - before[0], 5, 15);
            Assert.InRange(served[1] - before[1], 5, 15);

            // The first replica stops answering; retried calls (the method has no side effects) reach the other, and soon every call does.
            await replicas[0].StopAsync();
            await replicas[0].DisposeAsync();
            replicas.RemoveAt(0);
            var stoppedServed = served[0];
            var answered = 0;
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                    answered++;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                {
                    answered = 0;
                }

                return answered >= 20;
            }, "twenty calls in a row were answered after the first replica stopped");
            Assert.Equal(stoppedServed, served[0]);
        }
        finally
        {
            foreach (var app in replicas.Append(caller).OfType<WebApplication>())
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }

            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // The OS cleans the temp folder.
            }
        }
    }

    private static async Task<WebApplication> StartAsync(string data, IReadOnlyList<VerificationModule> catalog, string[] settings, ConcurrentDictionary<int, int> served, int replica)
    {
        var args = new List<string> { "--Verification:Listen:Port=0", $"--Verification:Database:DataDirectory={data}" };
        args.AddRange(TestNikKeys.Settings.Select(s => "--" + s));
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder([.. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost(catalog);
        var app = builder.Build();
        // Which replica answered: counted before the gRPC endpoint runs.
        app.Use(async (context, next) =>
        {
            if (replica >= 0 && context.Request.Path.StartsWithSegments(MembershipPath.TrimEnd('/'), StringComparison.Ordinal)) served.AddOrUpdate(replica, 1, (_, n) => n + 1);
            await next(context);
        });
        app.MapVerificationHost(catalog);
        await app.StartAsync();
        return app;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting until {what}.");
        }
    }
}
