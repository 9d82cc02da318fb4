using System.Net;
using Google.Protobuf;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Rpc.Client;
using Verification.Rpc.InteropServer;
using Verification.Rpc.Server;

// Usage: rpc PORT | bare PORT | alloc N   (see tests/benchmarks/rpc-vs-kestrel.sh)
var mode = args.ElementAtOrDefault(0) ?? "rpc";
if (mode == "alloc") return await Allocation.MeasureAsync(int.Parse(args.ElementAtOrDefault(1) ?? "20000", System.Globalization.CultureInfo.InvariantCulture));
var port = int.Parse(args.ElementAtOrDefault(1) ?? "0", System.Globalization.CultureInfo.InvariantCulture);
await using var app = Servers.Build(mode, port);
await app.StartAsync();
Console.WriteLine($"listening on 127.0.0.1:{new Uri(app.Urls.First()).Port}");
await Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(app);
return 0;

static class Servers
{
    /// <summary>The reply both servers send: the framed SimpleResponse of a 10-byte payload.</summary>
    public static readonly SimpleRequest Request = new() { ResponseSize = 10 };

    public static WebApplication Build(string mode, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddRpcServer();
        builder.Services.AddSingleton<UnaryBenchmarkHandler>();
        var app = builder.Build();
        if (mode == "bare")
        {
            var reply = Frame(UnaryBenchmarkHandler.Reply);
            app.Run(async http =>
            {
                // Read the request as any server must, then the same reply bytes with the status in trailers.
                while (true)
                {
                    var read = await http.Request.BodyReader.ReadAsync();
                    http.Request.BodyReader.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted) break;
                }
                http.Response.ContentType = "application/grpc";
                await http.Response.BodyWriter.WriteAsync(reply);
                http.Response.AppendTrailer("grpc-status", "0");
            });
            return app;
        }
        app.UseRpcServer();
        app.MapRpcService<UnaryBenchmarkHandler>(TestReflection.Descriptor.Services.Single(s => s.Name == "TestService"),
            "EmptyCall", "CacheableUnaryCall", "StreamingOutputCall", "StreamingInputCall", "FullDuplexCall", "HalfDuplexCall", "UnimplementedCall");
        return app;
    }

    public static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }
}

static class Allocation
{
    /// <summary>Bytes allocated in the process per unary call, server side only (the client runs in another process is not possible here, so subtract a client-only baseline).</summary>
    public static async Task<int> MeasureAsync(int calls)
    {
        foreach (var mode in new[] { "bare", "rpc" })
        {
            await using var app = Servers.Build(mode, 0);
            await app.StartAsync();
            var address = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}";
            using var channel = new RpcChannel(address);
            var client = new TestServiceClient(channel);
            for (var i = 0; i < 2000; i++) await client.UnaryCall(Servers.Request);
            GC.Collect();
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < calls; i++) await client.UnaryCall(Servers.Request);
            var perCall = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)calls;
            Console.WriteLine($"{mode}: {perCall:F0} bytes allocated per call (client and server in one process)");
            await app.StopAsync();
        }
        return 0;
    }
}

/// <summary>The transport's cost alone: parse the request, answer a fixed reply.</summary>
sealed class UnaryBenchmarkHandler
{
    public static readonly SimpleResponse Reply = new() { Payload = new Payload { Body = ByteString.CopyFrom(new byte[10]) }, Hostname = "benchmark" };

    public Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(Reply);
}
