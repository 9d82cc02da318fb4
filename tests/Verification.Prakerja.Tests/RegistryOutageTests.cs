using System.Net;
using System.Net.Sockets;
using Google.Rpc;
using Grpc.Core;
using Verification.Api;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Tests.Support;

namespace Verification.Prakerja.Tests;

/// <summary>Membership out of reach: Prakerja's calls to it are refused at the connection.</summary>
public sealed class RegistryOutageTests
{
    [Fact]
    public async Task CrossCheckIsUnavailableWithTheConfiguredRetryDelayWhileMembershipCannotBeReached()
    {
        await using var host = await PrakerjaHost.StartAsync(
            $"Verification:Endpoints:membership=http://127.0.0.1:{ClosedPort()}", "Verification:Prakerja:RetryDelay=00:00:03");
        using var call = host.Prakerja().CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        var answered = new List<RecipientResult>();
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext()) answered.AddRange(call.ResponseStream.Current.Results);
        });
        try
        {
            await call.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { TestData.Recipient("registered?", TestData.NewNik()), TestData.Recipient("invalid", "") } });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may already have answered.
        }

        var ex = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => reading);
        Assert.Equal(TimeSpan.FromSeconds(3), ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
        Assert.DoesNotContain(answered, r => r.RowId == "registered?");
    }

    /// <summary>A loopback port nobody listens on: taken from the OS, then released.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
