using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Api.Prakerja.V1;
using Verification.Prakerja.Data;

namespace Verification.Abuse.Tests;

/// <summary>Slow, idle and too many connections, and client streams that stop sending, do not hold the host.</summary>
public class ConnectionHygieneTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>An HTTP/2 client's opening: the preface and an empty SETTINGS frame.</summary>
    private static readonly byte[] Opening = [.. Preface, 0, 0, 0, 4, 0, 0, 0, 0, 0];

    /// <summary>True once the server has closed the connection (a read ends or fails), reading away whatever it sent first.</summary>
    private static async Task<bool> ClosedWithinAsync(Socket socket, TimeSpan limit)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task AConnectionSendingItsPrefaceAByteAtATimeIsClosedBeforeItFinishes()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:RequestHeadersTimeout=00:00:02", "Verification:Limits:KeepAliveTimeout=00:00:02");
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", host.Uri.Port);
        var sent = 0;
        var closed = false;
        // 24 bytes at 0.5 s each take 12 s: the 2 s header timeout must close the connection long before.
        for (; sent < Preface.Length && !closed; sent++)
        {
            try
            {
                await socket.SendAsync(Preface.AsMemory(sent, 1), SocketFlags.None);
            }
            catch (SocketException)
            {
                closed = true;
                break;
            }
            closed = await ClosedWithinAsync(socket, TimeSpan.FromMilliseconds(500));
        }
        Assert.True(closed, "the slow connection was never closed");
        Assert.True(sent < Preface.Length, $"closed only after the whole preface ({sent} bytes)");
    }

    [Fact]
    public async Task ConnectionsOverThePerAddressLimitAreClosedAndConnectionsAreAcceptedAgainOnceTheyClose()
    {
        // The host's own module clients may hold connections from 127.0.0.1 too, so the test opens one more than the limit.
        const int limit = 5;
        await using var host = await AbuseHost.StartAsync($"Verification:Limits:MaxConnectionsPerAddress={limit}");
        var held = new List<Socket>();
        var refused = 0;
        try
        {
            for (var i = 0; i <= limit; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                try
                {
                    // Inside: a connection closed at once can already be reset while the connect completes (seen under load).
                    await socket.ConnectAsync("127.0.0.1", host.Uri.Port);
                    await socket.SendAsync(Opening, SocketFlags.None);
                    // An accepted connection answers our SETTINGS with the server's; a refused one is closed at once.
                    if (await socket.ReceiveAsync(new byte[64], SocketFlags.None) == 0) refused++;
                }
                catch (SocketException)
                {
                    refused++;
                }
            }
            Assert.True(refused > 0, $"{limit + 1} connections from one address were all kept");
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }

        using var channel = host.Channel(null);
        var health = new Health.HealthClient(channel);
        HealthCheckResponse? answer = null;
        for (var attempt = 0; attempt < 100 && answer is null; attempt++)
        {
            try
            {
                answer = await health.CheckAsync(new HealthCheckRequest(), RpcCalls.WithTimeout(TimeSpan.FromSeconds(5)));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                await Task.Delay(100);
            }
        }
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, answer?.Status);
    }

    [Fact]
    public async Task AnUploadThatStopsSendingEndsDeadlineExceededAndLeavesNoBatch()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:StreamIdleTimeout=00:00:01");
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).SubmitBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(120)));
        await call.RequestStream.WriteAsync(new SubmitBatchRequest { Header = new SubmitBatchHeader { Label = "Gelombang 45" } });
        await call.RequestStream.WriteAsync(new SubmitBatchRequest { Chunk = new RecipientChunk { Recipients = { new Recipient { RowId = "a", Nik = "3201010101900001" } } } });

        // No half-close: the server must end the call itself.
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Contains("sent no message", ex.Status.Detail);

        await using var scope = host.Services.CreateAsyncScope();
        Assert.Equal(0, await scope.ServiceProvider.GetRequiredService<PrakerjaDbContext>().Batches.CountAsync());
    }

    [Fact]
    public async Task AnIdleCrossCheckEndsDeadlineExceededNotUnavailable()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Limits:StreamIdleTimeout=00:00:01");
        using var channel = host.Channel("prakerja-pmo");
        using var call = new PrakerjaService.PrakerjaServiceClient(channel).CrossCheck(RpcCalls.WithTimeout(TimeSpan.FromSeconds(120)));
        await call.RequestStream.WriteAsync(new CrossCheckRequest { Recipients = { new Recipient { RowId = "a", Nik = "3201010101900001" } } });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("a", Assert.Single(call.ResponseStream.Current.Results).RowId);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Contains("sent no message", ex.Status.Detail);
    }
}
