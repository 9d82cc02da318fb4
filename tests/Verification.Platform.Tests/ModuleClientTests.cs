using Grpc.Health.V1;
using Grpc.Net.ClientFactory;
using Verification.Platform.Hosting;

namespace Verification.Platform.Tests;

/// <summary>A module's client is made once, however many calls need it first at the same moment.</summary>
public sealed class ModuleClientTests
{
    [Fact]
    public async Task Concurrent_first_calls_make_one_channel_from_the_factory()
    {
        var factory = new CountingFactory();
        var client = new ModuleClient<Health.HealthClient>(factory);
        using var start = new Barrier(16);

        var clients = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return client.Client;
        })));

        // Two channels on the factory's one pooled handler break the second (a passive transport whose connects fail).
        Assert.Equal(1, factory.Created);
        Assert.All(clients, c => Assert.Same(clients[0], c));
    }

    [Fact]
    public void A_failed_creation_is_tried_again_on_the_next_call()
    {
        var factory = new CountingFactory { FailFirst = true };
        var client = new ModuleClient<Health.HealthClient>(factory);

        Assert.Throws<InvalidOperationException>(() => client.Client);
        Assert.NotNull(client.Client);
        Assert.Equal(2, factory.Created);
    }

    private sealed class CountingFactory : GrpcClientFactory
    {
        private int created;

        public bool FailFirst { get; init; }

        public int Created => Volatile.Read(ref created);

        public override TClient CreateClient<TClient>(string name)
        {
            var n = Interlocked.Increment(ref created);
            // Long enough that every racing caller is inside at once if nothing serialises them.
            Thread.Sleep(100);
            if (FailFirst && n == 1) throw new InvalidOperationException("the server's address is not known yet");
            var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:9");
            return (TClient)Activator.CreateInstance(typeof(TClient), channel)!;
        }
    }
}
