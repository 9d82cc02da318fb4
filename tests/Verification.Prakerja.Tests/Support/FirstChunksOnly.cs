using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.DependencyInjection;
using Verification.Platform.Hosting;

namespace Verification.Prakerja.Tests.Support;

/// <summary>
/// Lets Membership answer the registry checks of the first chunks the processor has in flight at once (one call per
/// chunk) and holds every later one until its caller gives up: a process stopped then has done exactly those chunks,
/// however fast or slow the machine.
/// </summary>
public sealed class FirstChunksOnly : Interceptor
{
    private int calls;

    public static readonly VerificationModule Module = new("first-chunks-only", (builder, _) =>
    {
        builder.Services.AddSingleton<FirstChunksOnly>();
        builder.Services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<FirstChunksOnly>());
    }, _ => { });

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method.EndsWith("/VerifyMembershipBatch", StringComparison.Ordinal) && Interlocked.Increment(ref calls) > Verification.Prakerja.Features.Process.BatchProcessor.ChunksInFlight)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        await continuation(requestStream, responseStream, context);
    }
}
