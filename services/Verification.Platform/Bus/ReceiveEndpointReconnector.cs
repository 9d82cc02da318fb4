using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Verification.Platform.Bus;

/// <summary>
/// Starts a faulted RabbitMQ receive endpoint again as soon as the broker accepts connections. MassTransit reconnects a
/// receive endpoint on its own exponential schedule (3 s growing to 30 s between attempts), so after a broker restart
/// consumers stayed away for up to 30 s while publishers were back at once: BrokerTests measured a queue with no
/// consumer for 10–15 s after the broker was back, and under CPU starvation that idle time pushed 8,000 events past the
/// test's 90 s.
/// </summary>
/// <remarks>
/// While an endpoint is faulted this probes the broker with a plain AMQP connection every half second (2 s timeout);
/// when one opens, it stops the endpoint (cutting MassTransit's wait short) and starts it, which connects at once. An
/// endpoint that recovers on its own (Ready) or a bus that is stopping ends the watch.
/// </remarks>
internal sealed partial class ReceiveEndpointReconnector(RabbitMqOptions options, ILogger logger) : IReceiveEndpointObserver
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    // Endpoints being watched, and those this observer is restarting (their Stopping is not the bus stopping).
    private readonly ConcurrentDictionary<Uri, byte> watched = new();
    private readonly ConcurrentDictionary<Uri, byte> restarting = new();
    private readonly ConcurrentDictionary<Uri, byte> stopped = new();

    public Task Ready(ReceiveEndpointReady ready)
    {
        watched.TryRemove(ready.InputAddress, out _);
        stopped.TryRemove(ready.InputAddress, out _);
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping)
    {
        if (!restarting.ContainsKey(stopping.InputAddress))
        {
            stopped[stopping.InputAddress] = 0;
            watched.TryRemove(stopping.InputAddress, out _);
        }

        return Task.CompletedTask;
    }

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        if (!stopped.ContainsKey(faulted.InputAddress) && watched.TryAdd(faulted.InputAddress, 0))
        {
            _ = Task.Run(() => WatchAsync(faulted.ReceiveEndpoint, faulted.InputAddress));
        }

        return Task.CompletedTask;
    }

    private async Task WatchAsync(IReceiveEndpoint endpoint, Uri address)
    {
        try
        {
            while (watched.ContainsKey(address) && !stopped.ContainsKey(address))
            {
                await Task.Delay(ProbeInterval);
                if (!await BrokerAnswersAsync()) continue;
                if (!watched.TryRemove(address, out _) || stopped.ContainsKey(address)) return;

                restarting[address] = 0;
                try
                {
                    using var stopDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await endpoint.Stop(stopDeadline.Token);
                    endpoint.Start(CancellationToken.None);
                }
                finally
                {
                    restarting.TryRemove(address, out _);
                }

                LogRestarted(address);
                return;
            }
        }
        catch (Exception ex)
        {
            watched.TryRemove(address, out _);
            LogRestartFailed(ex, address);
        }
    }

    private async Task<bool> BrokerAnswersAsync()
    {
        var factory = new ConnectionFactory
        {
            HostName = options.Host,
            Port = options.Port,
            VirtualHost = options.VirtualHost,
            UserName = options.Username,
            Password = options.Password,
            RequestedConnectionTimeout = ProbeTimeout,
            AutomaticRecoveryEnabled = false,
            ClientProvidedName = "verification-receive-endpoint-probe",
        };
        using var deadline = new CancellationTokenSource(ProbeTimeout);
        try
        {
            await using var connection = await factory.CreateConnectionAsync(deadline.Token);
            return true;
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException
                                       or RabbitMQ.Client.Exceptions.OperationInterruptedException
                                       or OperationCanceledException
                                       or IOException
                                       or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Receive endpoint {Address}: the broker answers again; endpoint restarted without waiting for MassTransit's reconnect schedule")]
    private partial void LogRestarted(Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Receive endpoint {Address}: restart after the broker came back failed; MassTransit's own reconnects continue")]
    private partial void LogRestartFailed(Exception exception, Uri address);
}
