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

    [Theory]
    [InlineData("http://membership:50051", "http://membership:50051/", false, false, "")]
    [InlineData("https://membership:50051", "https://membership:50051/", false, true, "")]
    [InlineData("dns:///membership-replicas:50051", "dns:///membership-replicas:50051", true, false, "")]
    [InlineData("http://10.0.0.5:50051, http://10.0.0.6:50052", "static:///membership", true, false, "10.0.0.5:50051 10.0.0.6:50052")]
    [InlineData("https://a:1,https://b:2", "static:///membership", true, true, "a:1 b:2")]
    public void An_endpoint_is_one_address_a_dns_name_of_every_replica_or_a_list(string value, string channel, bool balanced, bool secure, string replicas)
    {
        var address = ModuleAddress.TryParse("membership", value, internalTls: false);

        Assert.NotNull(address);
        Assert.Equal(channel, address.ChannelAddress.ToString());
        Assert.Equal(balanced, address.Balanced);
        Assert.Equal(secure, address.Secure);
        Assert.Equal(replicas, string.Join(' ', address.Replicas.Select(r => $"{r.EndPoint}")));
    }

    [Theory]
    [InlineData("membership:50051")]
    [InlineData("ftp://membership:21")]
    [InlineData("dns://8.8.8.8/membership:50051")]
    [InlineData("http://a:1,https://b:2")]
    [InlineData("http://a:1,http://b:2/path")]
    [InlineData("http://a:1,nonsense")]
    public void Anything_else_is_refused(string value) => Assert.Null(ModuleAddress.TryParse("membership", value, internalTls: false));

    [Fact]
    public void Replicas_behind_a_dns_name_use_tls_when_members_call_each_other_with_certificates() =>
        Assert.True(ModuleAddress.TryParse("membership", "dns:///membership-replicas:50051", internalTls: true)!.Secure);

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
