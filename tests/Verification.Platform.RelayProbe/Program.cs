using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Verification.Platform.Bus;
using Verification.Platform.Data;
using Verification.Platform.Outbox;

// Usage: RelayProbe <postgres-connection-string> <amqp-uri> <publish-delay-ms> <parent-pid> [die-after-publishes]
if (args.Length is not (4 or 5))
{
    Console.Error.WriteLine("usage: RelayProbe <postgres-connection-string> <amqp-uri> <publish-delay-ms> <parent-pid> [die-after-publishes]");
    return 2;
}

var database = new ModuleDatabase("probe", DatabaseProvider.Postgres, args[0]);
var bus = new BusOptions { Transport = BusTransport.RabbitMq, RabbitMq = RabbitMqOptions.FromUri(new Uri(args[1])) };
var publishDelay = TimeSpan.FromMilliseconds(int.Parse(args[2], CultureInfo.InvariantCulture));
var parent = int.Parse(args[3], CultureInfo.InvariantCulture);
var dieAfter = args.Length == 5 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0;

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.AddModuleDatabase<ProbeDbContext>(database);
builder.Services.AddVerificationBus(bus, configureBus: (_, cfg) => cfg.ConnectPublishObserver(new SlowPublish(publishDelay, dieAfter)));
builder.Services.AddOutboxRelay<ProbeDbContext>(options =>
{
    options.BatchSize = 20;
    options.PollInterval = TimeSpan.FromMilliseconds(200);
    options.MaxBackoff = TimeSpan.FromSeconds(1);
});
using var host = builder.Build();

// Never outlive the test that started us, even if it was killed.
_ = Task.Run(async () =>
{
    while (true)
    {
        await Task.Delay(500);
        try
        {
            using var process = Process.GetProcessById(parent);
        }
        catch (ArgumentException)
        {
            Environment.Exit(3);
        }
    }
});

await host.StartAsync();
Console.WriteLine("relay started");
await host.WaitForShutdownAsync();
return 0;

internal sealed class ProbeDbContext(DbContextOptions<ProbeDbContext> options) : ModuleDbContext(options);

// Slows each publish so that a kill lands in the middle of a round; or kills this process (SIGKILL) once the broker has
// confirmed the given number of publishes, before the relay can mark their rows.
internal sealed class SlowPublish(TimeSpan delay, int dieAfter) : IPublishObserver
{
    private int confirmed;

    public Task PrePublish<T>(PublishContext<T> context)
        where T : class => Task.Delay(delay);

    public Task PostPublish<T>(PublishContext<T> context)
        where T : class
    {
        if (dieAfter > 0 && Interlocked.Increment(ref confirmed) >= dieAfter)
        {
            Console.WriteLine($"killed after {dieAfter} confirmed publishes");
            Process.GetCurrentProcess().Kill();
        }

        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;
}
