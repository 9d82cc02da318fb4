using Google.Rpc;
using Grpc.Testing;
using Grpc.Core;
using Verification.Api;
using Verification.Rpc.InteropServer;
using Verification.Api.Channels;

namespace Verification.Host.Tests;

public class AccessTests
{
    [Fact]
    public async Task ACallWithoutCredentialsIsUnauthenticated()
    {
        await using var host = await ProbeHost.StartAsync();
        using var channel = host.Channel(null);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty()));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task ACallWithAnUnknownTokenIsUnauthenticated()
    {
        await using var host = await ProbeHost.StartAsync();
        using var channel = new VerificationChannel(host.Address, new ChannelSettings { BearerToken = "not-a-real-token" });
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty()));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task TheRightRoleGetsInAndTheHandlerKnowsWhoCalled()
    {
        await using var host = await ProbeHost.StartAsync();
        using var channel = host.Channel("bank-bri");
        var response = await new TestService.TestServiceClient(channel).UnaryCallAsync(new SimpleRequest());
        Assert.Equal("bank-bri", response.Username);
    }

    [Fact]
    public async Task TheWrongRoleIsPermissionDeniedAndTheDenialIsPublishedAsAnEvent()
    {
        await using var host = await ProbeHost.StartAsync();
        using var channel = host.Channel("auditor-bpk");
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await new TestService.TestServiceClient(channel).EmptyCallAsync(new Empty()));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal("ROLE_NOT_ALLOWED", ex.GetDetail<ErrorInfo>()?.Reason);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        Verification.Contracts.Events.AccessDenied? denied = null;
        while (DateTime.UtcNow < deadline && denied is null)
        {
            denied = AccessDeniedCollector.Received.FirstOrDefault(e => e.MemberCode == "auditor-bpk" && e.RpcMethod == "/grpc.testing.TestService/EmptyCall");
            if (denied is null) await Task.Delay(50);
        }
        Assert.NotNull(denied);
        Assert.Equal("Auditor", denied!.Role);
        Assert.Equal("access", denied.SourceModule);
        Assert.NotEqual(Guid.Empty, denied.EventId);
    }

    [Fact]
    public async Task AMemberOverItsRateIsResourceExhaustedWithRetryInfo()
    {
        await using var host = await ProbeHost.StartAsync("Verification:Access:RatePerSecond=10", "Verification:Access:Burst=5");
        using var channel = host.Channel("bank-bri");
        var client = new TestService.TestServiceClient(channel);
        RpcException? limited = null;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            try
            {
                await client.EmptyCallAsync(new Empty());
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                limited = ex;
            }
        }
        Assert.NotNull(limited);
        Assert.NotNull(limited!.GetDetail<RetryInfo>());

        // Another member has its own bucket.
        using var other = host.Channel("bank-bni");
        await new TestService.TestServiceClient(other).EmptyCallAsync(new Empty());
    }

    [Fact]
    public async Task HealthAnswersAnonymouslyButReflectionNeedsCredentials()
    {
        await using var host = await ProbeHost.StartAsync();
        using var anonymous = host.Channel(null);
        var health = await new Grpc.Health.V1.Health.HealthClient(anonymous).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var call = new Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(anonymous).ServerReflectionInfo(RpcCalls.WithTimeout(TimeSpan.FromSeconds(5)));
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { ListServices = "" });
            await call.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task DevelopmentCredentialsAreCreatedOncePerRoleAndStoredOnlyAsHashes()
    {
        await using var host = await ProbeHost.StartAsync();
        var tokens = Directory.GetFiles(Path.Combine(host.DataDirectory, "dev-credentials"), "*.token");
        Assert.Equal(Verification.Platform.Hosting.DevelopmentMembers.Codes.Order(), tokens.Select(Path.GetFileNameWithoutExtension).Order());
        var members = await File.ReadAllTextAsync(Path.Combine(host.DataDirectory, "members.json"));
        foreach (var file in tokens) Assert.DoesNotContain((await File.ReadAllTextAsync(file)).Trim(), members);
        foreach (var role in new[] { "Bank", "Agency", "LocalGovernment", "PrakerjaPmo", "Auditor", "InternalService", "Sponsor", "Administrator" })
            Assert.Contains($"\"{role}\"", members);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokens[0]));
    }
}
