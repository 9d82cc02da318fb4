using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Health.V1;
using Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Verification.Rpc.Client;
using Verification.Rpc.Server;
using Verification.Rpc.Services;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Verification.Rpc.Tests;

public class HandlerWithoutStreamingInputCall
{
    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());
}

public class HandlerWithWrongSignature
{
    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public Task<SimpleResponse> UnaryCall(SimpleRequest request) => Task.FromResult(new SimpleResponse());
}

public class BindingTests
{
    private static ServiceDescriptor TestService => TestReflection.Descriptor.Services.Single(s => s.Name == "TestService");

    private static WebApplication NewApp()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddRpcServer();
        return builder.Build();
    }

    [Fact]
    public async Task StartUpFailsNamingAProtoMethodWithoutAHandler()
    {
        await using var app = NewApp();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapRpcService<HandlerWithoutStreamingInputCall>(TestService));
        Assert.Contains("grpc.testing.TestService.UnaryCall", ex.Message);
        Assert.Contains("Task<SimpleResponse> UnaryCall(SimpleRequest, ServerCallContext)", ex.Message);
    }

    [Fact]
    public async Task StartUpFailsNamingAHandlerWithTheWrongSignature()
    {
        await using var app = NewApp();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapRpcService<HandlerWithWrongSignature>(TestService));
        Assert.Contains("HandlerWithWrongSignature.UnaryCall has the wrong signature", ex.Message);
    }

    [Fact]
    public async Task LeavingAMethodUnimplementedMustNameARealMethod()
    {
        await using var app = NewApp();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapRpcService<Verification.Rpc.InteropServer.TestServiceHandler>(TestService, "NoSuchMethod"));
        Assert.Contains("NoSuchMethod", ex.Message);
    }

    [Fact]
    public void ClientMethodsAreCheckedAgainstTheDescriptor()
    {
        Assert.Throws<InvalidOperationException>(() => Method<Empty, SimpleResponse>.Create(TestService, "EmptyCall"));
        Assert.Throws<InvalidOperationException>(() => Method<Empty, Empty>.Create(TestService, "Nope"));
        Assert.Equal(MethodType.DuplexStreaming, Method<StreamingOutputCallRequest, StreamingOutputCallResponse>.Create(TestService, "FullDuplexCall").Type);
    }
}

public class HealthAndReflectionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly ServiceDescriptor HealthService = HealthReflection.Descriptor.Services[0];
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Check = Method<HealthCheckRequest, HealthCheckResponse>.Create(HealthService, "Check");
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> Watch = Method<HealthCheckRequest, HealthCheckResponse>.Create(HealthService, "Watch");
    private static readonly Method<Grpc.Reflection.V1.ServerReflectionRequest, Grpc.Reflection.V1.ServerReflectionResponse> ReflectV1 =
        Method<Grpc.Reflection.V1.ServerReflectionRequest, Grpc.Reflection.V1.ServerReflectionResponse>.Create(Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0], "ServerReflectionInfo");
    private static readonly Method<Grpc.Reflection.V1Alpha.ServerReflectionRequest, Grpc.Reflection.V1Alpha.ServerReflectionResponse> ReflectV1Alpha =
        Method<Grpc.Reflection.V1Alpha.ServerReflectionRequest, Grpc.Reflection.V1Alpha.ServerReflectionResponse>.Create(Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0], "ServerReflectionInfo");

    [Fact]
    public async Task HealthCheckReportsTheWholeServerAndPerServiceStatusAndNotFoundForUnknown()
    {
        using var channel = fixture.Server.Channel();
        var registry = fixture.Server.Services.GetRequiredService<HealthStatusRegistry>();
        registry.SetStatus("verification.test.v1.Probe", ServingStatus.NotServing);
        Assert.Equal(ServingStatus.Serving, (await channel.UnaryCall(Check, new HealthCheckRequest())).Status);
        Assert.Equal(ServingStatus.NotServing, (await channel.UnaryCall(Check, new HealthCheckRequest { Service = "verification.test.v1.Probe" })).Status);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await channel.UnaryCall(Check, new HealthCheckRequest { Service = "nope" }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task HealthWatchStreamsTheCurrentStatusThenEveryChange()
    {
        using var channel = fixture.Server.Channel();
        var registry = fixture.Server.Services.GetRequiredService<HealthStatusRegistry>();
        var name = "verification.test.v1.Watched" + Guid.NewGuid().ToString("N");
        using var call = channel.ServerStreamingCall(Watch, new HealthCheckRequest { Service = name }, CallOptions.WithTimeout(TimeSpan.FromSeconds(10)));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.ServiceUnknown, call.ResponseStream.Current.Status);
        registry.SetStatus(name, ServingStatus.Serving);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);
        registry.SetStatus(name, ServingStatus.NotServing);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.NotServing, call.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task ReflectionListsServicesAndReturnsFilesWithTheirDependencies()
    {
        using var channel = fixture.Server.Channel();
        using var call = channel.DuplexStreamingCall(ReflectV1, CallOptions.WithTimeout(TimeSpan.FromSeconds(10)));
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext());
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("grpc.testing.TestService", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);

        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { FileContainingSymbol = "grpc.testing.TestService.UnaryCall" });
        Assert.True(await call.ResponseStream.MoveNext());
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes).Name).ToList();
        Assert.Equal("grpc/testing/test.proto", files[0]);
        Assert.Contains("grpc/testing/messages.proto", files);
        Assert.Contains("grpc/testing/empty.proto", files);

        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { FileByFilename = "grpc/testing/messages.proto" });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Single(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);

        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { FileContainingSymbol = "no.such.Symbol" });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal((int)StatusCode.NotFound, call.ResponseStream.Current.ErrorResponse.ErrorCode);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task ReflectionV1AlphaAnswersTheSameQuestions()
    {
        using var channel = fixture.Server.Channel();
        using var call = channel.DuplexStreamingCall(ReflectV1Alpha, CallOptions.WithTimeout(TimeSpan.FromSeconds(10)));
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { FileContainingSymbol = "grpc.testing.SimpleRequest" });
        Assert.True(await call.ResponseStream.MoveNext());
        var first = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("grpc/testing/messages.proto", first.Name);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }
}
