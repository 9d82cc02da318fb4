using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api;
using Verification.Grpc.Tests.Support;
using ReflectionV1 = Grpc.Reflection.V1;
using ReflectionV1Alpha = Grpc.Reflection.V1Alpha;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Verification.Grpc.Tests;

/// <summary>grpc.health.v1 (anonymous) and server reflection v1 and v1alpha (members only) on the real host.</summary>
public class HealthAndReflectionTests(WireHostFixture fixture) : IClassFixture<WireHostFixture>
{
    private WireHost Host => fixture.Host;

    private HealthServiceImpl HealthStatuses => Host.Services.GetRequiredService<HealthServiceImpl>();

    private static string NewServiceName() => "verification.probe.v1.Probe" + Guid.NewGuid().ToString("N");

    private static CallOptions Within10Seconds => RpcCalls.WithTimeout(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task HealthAnswersAnonymouslyForTheServerAndEachServiceAndNotFoundForAnUnknownService()
    {
        using var anonymous = Host.Channel(null);
        var health = new Health.HealthClient(anonymous);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);

        var service = NewServiceName();
        HealthStatuses.SetStatus(service, ServingStatus.NotServing);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);
        HealthStatuses.SetStatus(service, ServingStatus.Serving);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = NewServiceName() }));
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task HealthWatchStreamsTheCurrentStatusThenEachChange()
    {
        using var anonymous = Host.Channel(null);
        var service = NewServiceName();
        using var watch = new Health.HealthClient(anonymous).Watch(new HealthCheckRequest { Service = service }, Within10Seconds);

        async Task<ServingStatus> NextAsync()
        {
            Assert.True(await watch.ResponseStream.MoveNext(), "the watch ended");
            return watch.ResponseStream.Current.Status;
        }

        // Each change waits for the previous answer: the server keeps only the latest unsent status per watcher.
        Assert.Equal(ServingStatus.ServiceUnknown, await NextAsync());
        HealthStatuses.SetStatus(service, ServingStatus.Serving);
        Assert.Equal(ServingStatus.Serving, await NextAsync());
        HealthStatuses.SetStatus(service, ServingStatus.NotServing);
        Assert.Equal(ServingStatus.NotServing, await NextAsync());
        HealthStatuses.ClearStatus(service);
        Assert.Equal(ServingStatus.ServiceUnknown, await NextAsync());
    }

    [Fact]
    public async Task ReflectionV1ListsTheServicesAndReturnsFileDescriptorsToAnyMember()
    {
        using var channel = Host.Channel("auditor-bpk");
        using var call = new ReflectionV1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(Within10Seconds);

        async Task<ReflectionV1.ServerReflectionResponse> AskAsync(ReflectionV1.ServerReflectionRequest request)
        {
            await call.RequestStream.WriteAsync(request);
            Assert.True(await call.ResponseStream.MoveNext(), "reflection ended the stream");
            return call.ResponseStream.Current;
        }

        var listed = await AskAsync(new ReflectionV1.ServerReflectionRequest { ListServices = "" });
        AssertListsTheHostsServices(listed.ListServicesResponse.Service.Select(s => s.Name));

        var files = await AskAsync(new ReflectionV1.ServerReflectionRequest { FileContainingSymbol = "grpc.testing.TestService" });
        AssertDescribesTestService(files.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)));

        var byName = await AskAsync(new ReflectionV1.ServerReflectionRequest { FileByFilename = Health.Descriptor.File.Name });
        Assert.True(byName.FileDescriptorResponse is not null, "expected the file: " + byName);
        Assert.Contains(byName.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)), f => f.Service.Any(s => s.Name == "Health"));

        var unknown = await AskAsync(new ReflectionV1.ServerReflectionRequest { FileContainingSymbol = "no.such.Symbol" });
        Assert.True(unknown.ErrorResponse?.ErrorCode == (int)StatusCode.NotFound, "expected NOT_FOUND: " + unknown);

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task ReflectionV1AlphaListsTheServicesAndReturnsFileDescriptorsToAnyMember()
    {
        using var channel = Host.Channel("auditor-bpk");
        using var call = new ReflectionV1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(Within10Seconds);

        await call.RequestStream.WriteAsync(new ReflectionV1Alpha.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext());
        AssertListsTheHostsServices(call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));

        await call.RequestStream.WriteAsync(new ReflectionV1Alpha.ServerReflectionRequest { FileContainingSymbol = "grpc.testing.TestService" });
        Assert.True(await call.ResponseStream.MoveNext());
        AssertDescribesTestService(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)));

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task ReflectionV1AndV1AlphaRefuseAnAnonymousCallerWithUnauthenticated()
    {
        using var anonymous = Host.Channel(null);
        // The refusal comes at call start, before any message: reading without writing sees it every time, whereas a write
        // racing the refused stream's reset is resolved by the client as CANCELLED when the reset wins.
        using (var v1 = new ReflectionV1.ServerReflection.ServerReflectionClient(anonymous).ServerReflectionInfo(Within10Seconds))
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => v1.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        }
        using var v1Alpha = new ReflectionV1Alpha.ServerReflection.ServerReflectionClient(anonymous).ServerReflectionInfo(Within10Seconds);
        var alphaEx = await Assert.ThrowsAsync<RpcException>(() => v1Alpha.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Unauthenticated, alphaEx.StatusCode);
    }

    private static void AssertListsTheHostsServices(IEnumerable<string> names)
    {
        var listed = names.ToHashSet();
        foreach (var expected in new[] { "grpc.testing.TestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection" })
            Assert.True(listed.Contains(expected), $"{expected} is not listed: {string.Join(", ", listed)}");
    }

    private static void AssertDescribesTestService(IEnumerable<FileDescriptorProto> files)
    {
        var byName = files.ToDictionary(f => f.Name);
        Assert.True(byName.TryGetValue("grpc/testing/test.proto", out var test), "test.proto missing: " + string.Join(", ", byName.Keys));
        Assert.Contains(test!.Service, s => s.Name == "TestService" && s.Method.Any(m => m.Name == "FullDuplexCall" && m.ClientStreaming && m.ServerStreaming));
        // Its dependencies come along, so a tool can resolve every message type.
        Assert.Contains("grpc/testing/messages.proto", byName.Keys);
        Assert.Contains("grpc/testing/empty.proto", byName.Keys);
    }
}
