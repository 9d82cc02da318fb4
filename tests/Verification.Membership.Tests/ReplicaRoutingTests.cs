extern alias loadtests;

using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Api.Membership.V1;
using loadtests::Verification.LoadTests.Harness;
using Verification.Membership.Tests.Support;
using Verification.Platform.Hosting;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>
/// A module's client over two Membership replicas — each its own verification-host process on one PostgreSQL registry —
/// spreads its calls over both, and when one replica's process is killed (SIGKILL: no graceful shutdown, connections cut
/// by the kernel) every call moves to the survivor.
/// </summary>
public sealed class ReplicaRoutingTests
{
    private const string VerifyPath = "/verification.membership.v1.MembershipService/VerifyMembership";

    /// <summary>A module with no service of its own that calls Membership through the platform's module client, as Kur does.</summary>
    private static readonly VerificationModule Caller = new("caller", (builder, _) => builder.Services.AddModuleClient<MembershipService.MembershipServiceClient>("membership"), _ => { });

    [Fact]
    public async Task CallsThroughAListOfReplicasReachBothAndMoveToTheSurvivorWhenOneIsKilled()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = timeout.Token;
        var server = await PostgresServer.SharedAsync();
        var data = Path.Combine(Path.GetTempPath(), "verification-replica-routing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var (membersFile, _, _) = DevelopmentMembers.EnsureCreated(data);
        var membership = await server.CreateDatabaseAsync("membership", ct);
        var access = await server.CreateDatabaseAsync("access", ct);
        var binary = Suite.FindHostBinary();
        var replicas = new List<ModuleProcess>();
        WebApplication? caller = null;
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var port = FreePort();
                List<string> arguments =
                [
                    "--Verification:Services=membership",
                    "--Verification:Listen:Address=127.0.0.1",
                    $"--Verification:Listen:Port={port}",
                    $"--Verification:Database:DataDirectory={data}",
                    "--Verification:Database:Provider=Postgres",
                    $"--Verification:Database:ConnectionStrings:membership={membership}",
                    $"--Verification:Database:ConnectionStrings:access={access}",
                    $"--Verification:Access:MembersFile={membersFile}",
                    "--Logging:LogLevel:Default=Warning",
                    // Each call's "Request starting" line says which replica answered it.
                    "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information",
                    .. TestNikKeys.Settings.Select(s => "--" + s),
                ];
                replicas.Add(new ModuleProcess("membership", binary, arguments, port, ApiDescriptors.Membership.FullName, Path.Combine(data, $"membership-{i + 1}.log")));
            }

            // One after the other: the second migrates nothing and reads what the first wrote. Minutes are a hang guard on a shared machine.
            foreach (var replica in replicas)
            {
                replica.Start();
                await replica.WaitUntilServingAsync(TimeSpan.FromMinutes(4), ct);
            }

            caller = await StartCallerAsync(data, $"http://127.0.0.1:{replicas[0].Port},http://127.0.0.1:{replicas[1].Port}");
            var client = caller.Services.GetRequiredService<ModuleClient<MembershipService.MembershipServiceClient>>().Client;
            var request = new VerifyMembershipRequest { Nik = TestData.Nik() };

            // Round robin over both once both are connected: every call is answered, and each replica answers some.
            await WaitUntilAsync(async () =>
            {
                await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                return Served(replicas[0]) > 0 && Served(replicas[1]) > 0;
            }, "both replicas answered calls", ct);
            var before = replicas.Select(Served).ToList();
            for (var i = 0; i < 20; i++) await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
            // The replicas' log lines arrive through their pipes after the answers: wait until all twenty are counted.
            await WaitUntilAsync(() => Task.FromResult(replicas.Sum(Served) >= before.Sum() + 20), "the replicas' logs counted the twenty calls", ct);
            Assert.InRange(Served(replicas[0]) - before[0], 5, 15);
            Assert.InRange(Served(replicas[1]) - before[1], 5, 15);

            // The first replica's process is killed; retried calls (the method has no side effects) reach the other, and soon every call does.
            replicas[0].Kill();
            Assert.Null(replicas[0].Pid);
            var killedServed = Served(replicas[0]);
            var survivorBefore = Served(replicas[1]);
            var answered = 0;
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await client.VerifyMembershipAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                    answered++;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                {
                    answered = 0;
                }

                return answered >= 20;
            }, "twenty calls in a row were answered after the first replica was killed", ct);
            await WaitUntilAsync(() => Task.FromResult(Served(replicas[1]) >= survivorBefore + 20), "the survivor's log counted the twenty calls", ct);
            Assert.Equal(killedServed, Served(replicas[0]));
        }
        finally
        {
            if (caller is not null)
            {
                await caller.StopAsync(CancellationToken.None);
                await caller.DisposeAsync();
            }

            foreach (var replica in replicas) await replica.DisposeAsync();
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

    /// <summary>Calls one replica answered, from its log (ASP.NET Core's "Request starting … VerifyMembership" line, one per call).</summary>
    private static int Served(ModuleProcess replica)
    {
        using var stream = new FileStream(replica.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var count = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains("Request starting", StringComparison.Ordinal) && line.Contains(VerifyPath, StringComparison.Ordinal)) count++;
        }

        return count;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<WebApplication> StartCallerAsync(string data, string endpoints)
    {
        string[] args =
        [
            "--Verification:Listen:Port=0",
            $"--Verification:Database:DataDirectory={data}",
            "--Verification:Services=caller",
            $"--Verification:Endpoints:membership={endpoints}",
            .. TestNikKeys.Settings.Select(s => "--" + s),
        ];
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        VerificationModule[] catalog = [MembershipModule.Module, Caller];
        builder.AddVerificationHost(catalog);
        var app = builder.Build();
        app.MapVerificationHost(catalog);
        await app.StartAsync();
        return app;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, CancellationToken ct)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"Timed out waiting until {what}.");
            await Task.Delay(100, ct);
        }
    }
}
