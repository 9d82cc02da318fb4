using System.Diagnostics;
using Verification.Api;
using System.Globalization;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Verification.Api.Membership.V1;
using Verification.Membership;
using Verification.Membership.Features.Seed;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Api.Channels;

// Usage (see tests/benchmarks/membership-verify.sh):
//   seed|serve  --data DIR --membership CONNSTR --access CONNSTR [--port P] [seed options]
//   body NIK                                   framed VerifyMembershipRequest on stdout (for h2load -d)
//   sample CONNSTR N FILE                      N random registered NIKs of the registry, one a line
//   unary ADDRESS TOKEN NIKFILE SECONDS        varied-NIK load from 16 connections x 32 streams
//   batch ADDRESS TOKEN NIKFILE COUNT          one VerifyMembershipBatch call of COUNT rows, 1000 per message
var command = args.ElementAtOrDefault(0);
return command switch
{
    "seed" or "serve" => await MembershipProcess.RunAsync(command, args[1..]),
    "body" => Body(args[1]),
    "sample" => await Sample(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]),
    "unary" => await Load.UnaryAsync(args[1], args[2], File.ReadAllLines(args[3]), int.Parse(args[4], CultureInfo.InvariantCulture)),
    "batch" => await Load.BatchAsync(args[1], args[2], File.ReadAllLines(args[3]), int.Parse(args[4], CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: seed|serve|body|sample|unary|batch ... (see Program.cs)");
    return 2;
}

static int Body(string nik)
{
    var payload = new VerifyMembershipRequest { Nik = nik }.ToByteArray();
    var frame = new byte[5 + payload.Length];
    System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
    payload.CopyTo(frame, 5);
    using var stdout = Console.OpenStandardOutput();
    stdout.Write(frame);
    return 0;
}

static async Task<int> Sample(string connectionString, int count, string file)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT nik FROM participants TABLESAMPLE BERNOULLI (5) LIMIT $1", connection);
    command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
    var niks = new List<string>(count);
    await using (var reader = await command.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync()) niks.Add(reader.GetInt64(0).ToString("D16", CultureInfo.InvariantCulture));
    }

    // Shuffle: the sample comes back in table order.
    Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(niks));
    await File.WriteAllLinesAsync(file, niks);
    return 0;
}

/// <summary>The host composition with the membership module alone, on PostgreSQL, one process: microservices mode without the broker.</summary>
static class MembershipProcess
{
    public static async Task<int> RunAsync(string command, string[] args)
    {
        string Option(string name) => args[Array.IndexOf(args, name) + 1];
        var data = Option("--data");
        Directory.CreateDirectory(data);
        // Microservices mode needs a members file: create the development members (tokens in DATA/dev-credentials).
        var (membersFile, _, _) = DevelopmentMembers.EnsureCreated(data);
        // Microservices mode also needs the audit log's NIK-sealing public key (verification publishes nothing, but the module composes its sealer).
        var (_, sealingPublicKey) = Verification.Platform.Privacy.NikSealing.EnsureDevelopmentKeys(data);
        var settings = new List<string>
        {
            "--Verification:Mode=Microservices",
            "--Verification:Services=membership",
            "--Verification:Database:Provider=Postgres",
            $"--Verification:Database:ConnectionStrings:membership={Option("--membership")}",
            $"--Verification:Database:ConnectionStrings:access={Option("--access")}",
            // No broker in this benchmark: verification publishes nothing, and the relay has nothing to send.
            "--Verification:Bus:Transport=InMemory",
            $"--Verification:Access:MembersFile={membersFile}",
            $"--Verification:Privacy:NikSealingKeyPath={sealingPublicKey}",
            "--Verification:Access:RatePerSecond=10000000",
            "--Verification:Access:Burst=10000000",
            // The per-member item budget (20,000 NIKs/s by default) would measure itself, not the batch path.
            "--Verification:Access:ItemsPerSecond=10000000",
            "--Verification:Access:ItemBurst=10000000",
            $"--Verification:Listen:Port={(args.Contains("--port") ? Option("--port") : "0")}",
        };
        var builder = WebApplication.CreateSlimBuilder([.. settings, .. args]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddVerificationHost([MembershipModule.Module]);
        await using var app = builder.Build();
        app.MapVerificationHost([MembershipModule.Module]);
        if (command == "seed") return await MembershipSeeder.RunAsync(app.Services, args, CancellationToken.None);
        await app.StartAsync();
        Console.WriteLine($"listening on {app.Urls.First()} pid {Environment.ProcessId}");
        await app.WaitForShutdownAsync();
        return 0;
    }
}

static class Load
{
    public static async Task<int> UnaryAsync(string address, string token, string[] niks, int seconds)
    {
        const int connections = 16, streams = 32;
        var channels = Enumerable.Range(0, connections).Select(_ => new VerificationChannel(address, new ChannelSettings { BearerToken = token, RetryUnavailable = false })).ToList();
        var latencies = new List<long>[connections * streams];
        var errors = 0L;
        var measuring = false;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, connections * streams).Select(w => Task.Run(async () =>
        {
            var client = new MembershipService.MembershipServiceClient(channels[w % connections]);
            var mine = latencies[w] = new List<long>(1 << 16);
            var i = w * 7919;
            while (!stop.IsCancellationRequested)
            {
                var request = new VerifyMembershipRequest { Nik = niks[i++ % niks.Length] };
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.VerifyMembershipAsync(request);
                    if (Volatile.Read(ref measuring)) mine.Add(Stopwatch.GetTimestamp() - start);
                }
                catch (Grpc.Core.RpcException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(3)); // warm-up
        Volatile.Write(ref measuring, true);
        var watch = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref measuring, false);
        var elapsed = watch.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Ms(double q) => all[(int)(q * (all.Length - 1))] * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"unary varied NIKs: {all.Length / elapsed:N0} req/s over {elapsed:F1} s, p50 {Ms(0.50):F2} ms, p99 {Ms(0.99):F2} ms, errors {errors}"));
        foreach (var channel in channels) channel.Dispose();
        return errors == 0 ? 0 : 1;
    }

    public static async Task<int> BatchAsync(string address, string token, string[] registered, int count)
    {
        using var channel = new VerificationChannel(address, new ChannelSettings { BearerToken = token, RetryUnavailable = false });
        var client = new MembershipService.MembershipServiceClient(channel);
        // Nine rows in ten are registered NIKs of the registry, one in ten a valid NIK nobody registered.
        var rows = new List<VerifyMembershipBatchItem>(count);
        var unregistered = new SyntheticRegistry(new SyntheticRegistryOptions(987_654)).Generate(count / 10 + 1).Select(p => p.Nik.ToString("D16", CultureInfo.InvariantCulture)).ToArray();
        for (var i = 0; i < count; i++)
            rows.Add(new VerifyMembershipBatchItem { RowId = i.ToString(CultureInfo.InvariantCulture), Nik = i % 10 == 9 ? unregistered[i / 10] : registered[i % registered.Length] });
        var watch = Stopwatch.StartNew();
        using var call = client.VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromMinutes(10)));
        var answered = 0L;
        var active = 0L;
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
                answered += call.ResponseStream.Current.Results.Count;
                active += call.ResponseStream.Current.Results.Count(r => r.Covered);
            }
        });
        foreach (var chunk in rows.Chunk(1000)) await call.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { chunk } });
        await call.RequestStream.CompleteAsync();
        await reading;
        var seconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch: {answered:N0} rows answered of {count:N0} in {seconds:F2} s = {answered / seconds:N0} NIKs/s ({active:N0} covered)"));
        return answered == count ? 0 : 1;
    }
}
