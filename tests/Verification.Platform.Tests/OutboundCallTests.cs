using MassTransit.UsageTracking;
using Microsoft.Extensions.DependencyInjection;
using Verification.Platform.Bus;

namespace Verification.Platform.Tests;

public sealed class OutboundCallTests
{
    [Fact]
    public async Task MassTransitsUsageTelemetryIsOffEvenWhenTheEnvironmentAsksForIt()
    {
        // MassTransit reads the switch when its tracker is created and lets it override the option.
        Environment.SetEnvironmentVariable(BusServiceCollectionExtensions.UsageTelemetrySwitch, "true");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddVerificationBus(new BusOptions { Transport = BusTransport.InMemory });
        await using var provider = services.BuildServiceProvider();

        var tracker = Assert.IsType<UsageTracker>(provider.GetRequiredService<IUsageTracker>());

        Assert.False(tracker.Enabled);
        Assert.Equal("false", Environment.GetEnvironmentVariable(BusServiceCollectionExtensions.UsageTelemetrySwitch));
    }
}
