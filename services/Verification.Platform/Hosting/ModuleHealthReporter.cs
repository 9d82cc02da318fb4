using Grpc.HealthCheck;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Verification.Platform.Hosting;

/// <summary>Keeps a module's gRPC health (per service name, in Grpc.HealthCheck's service) tied to its database and, on RabbitMQ, to the bus.</summary>
public sealed class ModuleHealthReporter<TContext>(IServiceScopeFactory scopes, HealthServiceImpl health, IEnumerable<string> serviceNames, bool watchBus,
    Func<bool>? serving = null) : BackgroundService
    where TContext : DbContext
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var status = (serving?.Invoke() ?? true) && await ProbeAsync(stoppingToken) ? ServingStatus.Serving : ServingStatus.NotServing;
            foreach (var name in serviceNames) health.SetStatus(name, status);
            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        foreach (var name in serviceNames) health.SetStatus(name, ServingStatus.NotServing);
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            if (!await db.Database.CanConnectAsync(timeout.Token)) return false;
            if (!watchBus) return true;
            var bus = scope.ServiceProvider.GetRequiredService<IBusControl>();
            return bus.CheckHealth().Status == BusHealthStatus.Healthy;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
