using Grpc.Core;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Verification.Grpc.Tests.Support;
using Verification.Platform.Access;
using Verification.Platform.Hosting;

namespace Verification.Grpc.Tests;

/// <summary>Every method declares roles, except CacheableUnaryCall (none) and HalfDuplexCall (an empty list).</summary>
public sealed class ServiceWithUndeclaredRoles : TestService.TestServiceBase
{
    [RpcRoles(MemberRole.Bank)]
    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    [RpcRoles(MemberRole.Bank)]
    public override Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(new SimpleResponse());

    public override Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(new SimpleResponse());

    [RpcRoles(MemberRole.Bank)]
    public override Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    [RpcRoles(MemberRole.Bank)]
    public override Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context) => Task.FromResult(new StreamingInputCallResponse());

    [RpcRoles(MemberRole.Bank)]
    public override Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    [RpcRoles]
    public override Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    [RpcRoles(MemberRole.Bank)]
    public override Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());
}

/// <summary>Roles for every method, but no override of StreamingInputCall: grpc-dotnet alone would answer it UNIMPLEMENTED at run time.</summary>
[RpcRoles(MemberRole.Bank)]
public sealed class ServiceWithAMissingOverride : TestService.TestServiceBase
{
    public override Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public override Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(new SimpleResponse());

    public override Task<SimpleResponse> CacheableUnaryCall(SimpleRequest request, ServerCallContext context) => Task.FromResult(new SimpleResponse());

    public override Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    public override Task FullDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    public override Task HalfDuplexCall(IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) => Task.CompletedTask;

    public override Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());
}

/// <summary>The host's start-up checks over every mapped RPC: roles declared and every proto method overridden.</summary>
public class StartupCheckTests
{
    private static VerificationModule ModuleMapping<TService>() where TService : TestService.TestServiceBase =>
        new("probe", (_, _) => { }, app => app.MapGrpcService<TService>());

    private static async Task<InvalidOperationException> RefusedAsync(VerificationModule module)
    {
        var data = Directory.CreateTempSubdirectory("verification-grpc-startup-").FullName;
        try
        {
            await using var app = WireHost.Build([module], data);
            return Assert.Throws<InvalidOperationException>(() => app.MapVerificationHost([module]));
        }
        finally
        {
            WireHost.DeleteQuietly(data);
        }
    }

    [Fact]
    public async Task TheHostRefusesToStartNamingEachRpcThatDeclaresNoRoles()
    {
        var ex = await RefusedAsync(ModuleMapping<ServiceWithUndeclaredRoles>());
        Assert.Contains("[RpcRoles]", ex.Message);
        Assert.Contains("/grpc.testing.TestService/CacheableUnaryCall", ex.Message);
        Assert.Contains("/grpc.testing.TestService/HalfDuplexCall", ex.Message);
        Assert.DoesNotContain("/grpc.testing.TestService/UnaryCall", ex.Message);
    }

    [Fact]
    public async Task TheHostRefusesToStartNamingAProtoMethodThatHasNoOverride()
    {
        var ex = await RefusedAsync(ModuleMapping<ServiceWithAMissingOverride>());
        Assert.Contains("no implementation", ex.Message);
        Assert.Contains("/grpc.testing.TestService/StreamingInputCall", ex.Message);
        Assert.DoesNotContain("/grpc.testing.TestService/StreamingOutputCall", ex.Message);
    }

    [Fact]
    public async Task TheHostStartsAndServesWhenEveryRpcDeclaresRolesAndIsImplemented()
    {
        await using var host = await WireHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty());
    }
}
