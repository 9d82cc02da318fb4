using System.Collections.Concurrent;
using Grpc.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Contracts.Events;
using Verification.Platform.Access;
using Verification.Platform.Bus;
using Verification.Platform.Hosting;
using Grpc.Core;
using Verification.Rpc.InteropServer;
using Verification.Api.Channels;

namespace Verification.Host.Tests;

/// <summary>TestService behind the access rules: only banks may call it.</summary>
[RpcRoles(MemberRole.Bank)]
public sealed class BankOnlyTestService : TestService.TestServiceBase
{
    /// <summary>Set when the slow call is inside its handler, so the shutdown test stops the host only once the call is really in flight.</summary>
    public static readonly TaskCompletionSource SlowCallStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override async Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        // A slow call, for graceful shutdown: it must finish although the host is stopping.
        if (request.ResponseSize == 777)
        {
            SlowCallStarted.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
        }
        return new SimpleResponse { Username = context.Member().Code };
    }

    public override Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context) => UnaryCall(request, context);

    // The host refuses a proto method without an implementation; these are implemented as "not offered".
    public override Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => throw NotOffered;

    public override Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context) => throw NotOffered;

    public override Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => throw NotOffered;

    public override Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => throw NotOffered;

    public override Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) => throw NotOffered;

    private static RpcException NotOffered => new(new Status(StatusCode.Unimplemented, "Not offered by the probe."));
}

/// <summary>Collects AccessDenied events from the bus, as Audit will.</summary>
public sealed class AccessDeniedCollector : IConsumer<AccessDenied>
{
    public static readonly ConcurrentQueue<AccessDenied> Received = new();

    public Task Consume(ConsumeContext<AccessDenied> context)
    {
        Received.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>The real host composition (platform, access, bus, telemetry) with one probe module, in process, on a free port.</summary>
public sealed class ProbeHost : IAsyncDisposable
{
    public static readonly VerificationModule ProbeModule = new(
        "probe",
        (builder, _) => { },
        app => app.MapGrpcService<BankOnlyTestService>(),
        consumers => consumers.AddEventConsumer<AccessDeniedCollector>());

    private readonly WebApplication _app;

    private ProbeHost(WebApplication app, string dataDirectory, string address)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = address;
    }

    public string DataDirectory { get; }

    public string Address { get; }

    public static async Task<ProbeHost> StartAsync(params string[] settings)
    {
        var data = Path.Combine(Path.GetTempPath(), "verification-host-tests-" + Guid.NewGuid().ToString("N"));
        var args = new List<string> { "--Verification:Listen:Port=0", "--Verification:Listen:RestPort=", $"--Verification:Database:DataDirectory={data}" };
        args.AddRange(settings.Select(s => "--" + s));
        var builder = WebApplication.CreateSlimBuilder(args.ToArray());
        builder.AddVerificationHost([ProbeModule]);
        var app = builder.Build();
        app.MapVerificationHost([ProbeModule]);
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new ProbeHost(app, data, $"http://127.0.0.1:{port}");
    }

    public string Token(string member) => File.ReadAllText(Path.Combine(DataDirectory, "dev-credentials", member + ".token")).Trim();

    public VerificationChannel Channel(string? member) => new(Address, new ChannelSettings { BearerToken = member is null ? null : Token(member), RetryUnavailable = false });

    public IServiceProvider Services => _app.Services;

    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }
}
