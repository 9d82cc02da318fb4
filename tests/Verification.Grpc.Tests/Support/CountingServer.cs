using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Verification.Api.Membership.V1;

namespace Verification.Grpc.Tests.Support;

/// <summary>How often each call (method and <c>x-probe-id</c>) reached the server, and the deadline it arrived with.</summary>
public sealed class AttemptLog
{
    public ConcurrentDictionary<string, int> Attempts { get; } = new();

    public ConcurrentDictionary<string, DateTime> Deadlines { get; } = new();

    public int Of(string method, string id) => Attempts.GetValueOrDefault($"{method}:{id}");

    /// <summary>Counts an attempt and, while it is within the <c>x-fail-times</c> the caller asked for, fails it with <c>x-fail-code</c> (default UNAVAILABLE).</summary>
    public void Attempt(string method, ServerCallContext context)
    {
        var id = context.RequestHeaders.GetValue("x-probe-id") ?? "";
        var attempt = Attempts.AddOrUpdate($"{method}:{id}", 1, (_, n) => n + 1);
        Deadlines[$"{method}:{id}"] = context.Deadline;
        var failTimes = int.Parse(context.RequestHeaders.GetValue("x-fail-times") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        if (attempt > failTimes) return;
        var code = Enum.Parse<StatusCode>(context.RequestHeaders.GetValue("x-fail-code") ?? nameof(StatusCode.Unavailable));
        throw new RpcException(new Status(code, $"attempt {attempt} of {method} fails on purpose"));
    }
}

/// <summary>Membership's generated service base as a partner's channel sees a server: each call counted, failing as the caller asks.</summary>
public sealed class CountingMembershipService(AttemptLog log) : MembershipService.MembershipServiceBase
{
    public override Task<VerifyMembershipResponse> VerifyMembership(VerifyMembershipRequest request, ServerCallContext context)
    {
        log.Attempt(nameof(VerifyMembership), context);
        return Task.FromResult(new VerifyMembershipResponse());
    }

    public override Task<EnrollParticipantResponse> EnrollParticipant(EnrollParticipantRequest request, ServerCallContext context)
    {
        log.Attempt(nameof(EnrollParticipant), context);
        return Task.FromResult(new EnrollParticipantResponse());
    }

    public override Task VerifyMembershipBatch(IAsyncStreamReader<VerifyMembershipBatchRequest> requestStream, IServerStreamWriter<VerifyMembershipBatchResponse> responseStream, ServerCallContext context)
    {
        log.Attempt(nameof(VerifyMembershipBatch), context);
        return Task.CompletedTask;
    }
}

/// <summary>TestService, whose methods declare no idempotency level in the proto: nothing says they are safe to repeat.</summary>
public sealed class CountingTestService(AttemptLog log) : TestService.TestServiceBase
{
    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context)
    {
        log.Attempt(nameof(EmptyCall), context);
        return Task.FromResult(new Empty());
    }

    public override Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        log.Attempt(nameof(UnaryCall), context);
        return Task.FromResult(new SimpleResponse());
    }
}

/// <summary>A small Kestrel app on a free loopback port (h2c, or TLS with the given certificate) serving the counting services.</summary>
public sealed class CountingServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CountingServer(WebApplication app, AttemptLog log, string address)
    {
        _app = app;
        Log = log;
        Address = address;
    }

    public AttemptLog Log { get; }

    public string Address { get; }

    public static async Task<CountingServer> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null) listen.UseHttps(certificate);
        }));
        var log = new AttemptLog();
        builder.Services.AddSingleton(log);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<CountingMembershipService>();
        app.MapGrpcService<CountingTestService>();
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        return new CountingServer(app, log, certificate is null ? $"http://127.0.0.1:{port}" : $"https://localhost:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
