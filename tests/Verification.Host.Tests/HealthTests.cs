using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Platform.Access;
using Verification.Platform.Hosting;
using Grpc.Core;
using Grpc.HealthCheck;
using Verification.Testing;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;
using Verification.Api.Channels;

namespace Verification.Host.Tests;

public class HealthTests
{
    private const string ProbeService = "verification.probe.v1.Probe";

    /// <summary>A module whose health follows a database, as every real module's does.</summary>
    private static readonly VerificationModule HealthProbeModule = new(
        "probe",
        (builder, _) => builder.Services.AddHostedService(sp => new ModuleHealthReporter<AccessDbContext>(
            sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<HealthServiceImpl>(), [ProbeService], watchBus: false)),
        _ => { });

    [Fact]
    public async Task AModuleStopsServingWhenItsDatabaseGoesAway()
    {
        var postgres = await PostgresServer.SharedAsync();
        var access = await postgres.CreateDatabaseAsync("health");
        var data = Directory.CreateTempSubdirectory("verification-health-");
        var builder = WebApplication.CreateSlimBuilder(
        [
            "--Verification:Listen:Port=0",
            "--Verification:Listen:RestPort=",
            $"--Verification:Database:DataDirectory={data.FullName}",
            "--Verification:Database:Provider=Postgres",
            $"--Verification:Database:ConnectionStrings:access={access}",
            $"--Verification:Database:ConnectionStrings:probe={access}",
        ]);
        builder.AddVerificationHost([HealthProbeModule]);
        await using var app = builder.Build();
        app.MapVerificationHost([HealthProbeModule]);
        await app.StartAsync();
        using var channel = new VerificationChannel($"http://127.0.0.1:{new Uri(app.Urls.First()).Port}");
        var health = new Health.HealthClient(channel);

        async Task<ServingStatus> WaitFor(ServingStatus wanted)
        {
            var last = ServingStatus.Unknown;
            for (var i = 0; i < 100 && last != wanted; i++)
            {
                try
                {
                    last = (await health.CheckAsync(new HealthCheckRequest { Service = ProbeService })).Status;
                }
                catch (RpcException)
                {
                    last = ServingStatus.ServiceUnknown; // not reported yet
                }
                if (last != wanted) await Task.Delay(100);
            }
            return last;
        }

        Assert.Equal(ServingStatus.Serving, await WaitFor(ServingStatus.Serving));
        await postgres.DropDatabaseAsync(access);
        Assert.Equal(ServingStatus.NotServing, await WaitFor(ServingStatus.NotServing));
        await app.StopAsync();
        data.Delete(recursive: true);
    }
}
