using Grpc.Testing;
using Grpc.Core;
using Verification.Api;
using Verification.Rpc.InteropServer;

namespace Verification.Host.Tests;

public class ShutdownTests
{
    [Fact]
    public async Task StoppingTheHostLetsInFlightCallsFinishAndRefusesNewOnes()
    {
        var host = await ProbeHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        var client = new TestService.TestServiceClient(channel);
        var slow = client.UnaryCallAsync(new SimpleRequest { ResponseSize = 777 }).ResponseAsync;
        // A fixed delay was not enough on a loaded CI machine: the call had not reached the handler when the host stopped.
        await BankOnlyTestService.SlowCallStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stopping = host.StopAsync();
        var response = await slow;
        Assert.Equal("bank-bri", response.Username);
        await stopping;

        using var late = host.Channel("bank-bri");
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(late).EmptyCallAsync(new Empty()));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        await host.DisposeAsync();
    }
}
