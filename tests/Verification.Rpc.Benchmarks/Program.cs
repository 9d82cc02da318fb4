using System.Net;
using Google.Protobuf;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Grpc.Core;
using Verification.Testing;

// Usage: rpc PORT (grpc-dotnet) | bare PORT | alloc N | alloc-types N   (see tests/benchmarks/rpc-vs-kestrel.sh)
var mode = args.ElementAtOrDefault(0) ?? "rpc";
if (mode == "alloc-types") return await Allocation.TypesAsync(int.Parse(args.ElementAtOrDefault(1) ?? "200000", System.Globalization.CultureInfo.InvariantCulture));
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
        builder.Services.AddGrpc();
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
        app.MapGrpcService<UnaryBenchmarkHandler>();
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
    /// <summary>Bytes the server process allocates per unary call (Kestrel included), with h2load as the client in its own process.</summary>
    public static async Task<int> MeasureAsync(int calls)
    {
        var body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, Servers.Frame(Servers.Request));
        try
        {
            foreach (var mode in new[] { "bare", "rpc", "bare", "rpc" })
            {
                await using var app = Servers.Build(mode, 0);
                await app.StartAsync();
                var url = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}/grpc.testing.TestService/UnaryCall";
                await H2LoadAsync(url, body, 5000);
                GC.Collect();
                var before = GC.GetTotalAllocatedBytes(precise: true);
                await H2LoadAsync(url, body, calls);
                var perCall = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)calls;
                Console.WriteLine($"{mode}: {perCall:F0} bytes allocated by the server per call");
                await app.StopAsync();
            }
        }
        finally
        {
            File.Delete(body);
        }
        return 0;
    }

    /// <summary>What the rpc server allocates, by type: the runtime's allocation samples (one per ~100 KB) during N calls.</summary>
    public static async Task<int> TypesAsync(int calls)
    {
        var body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, Servers.Frame(Servers.Request));
        try
        {
            await using var app = Servers.Build("rpc", 0);
            await app.StartAsync();
            var url = $"http://127.0.0.1:{new Uri(app.Urls.First()).Port}/grpc.testing.TestService/UnaryCall";
            await H2LoadAsync(url, body, 5000);
            using var samples = new AllocationSamples();
            await H2LoadAsync(url, body, calls);
            foreach (var (type, bytes) in samples.Snapshot().OrderByDescending(p => p.Value).Take(25))
                Console.WriteLine($"{bytes / (double)calls,8:F1} B/call  {type}");
            await app.StopAsync();
        }
        finally
        {
            File.Delete(body);
        }
        return 0;
    }

    private static async Task H2LoadAsync(string url, string body, int requests)
    {
        var info = new System.Diagnostics.ProcessStartInfo("h2load") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-n", requests.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "4", "-m", "16", "-t", "1", "-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers", url })
            info.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (!output.Contains(" 0 failed, 0 errored", StringComparison.Ordinal)) throw new InvalidOperationException("h2load reported failures:\n" + output);
    }
}

/// <summary>The transport's cost alone: parse the request, answer a fixed reply.</summary>
sealed class UnaryBenchmarkHandler : TestService.TestServiceBase
{
    public static readonly SimpleResponse Reply = new() { Payload = new Payload { Body = ByteString.CopyFrom(new byte[10]) }, Hostname = "benchmark" };

    public override Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(Reply);
}
