using Grpc.Core;
using Verification.Api;
using Verification.Api.Prakerja.V1;
using ReflectionV1 = Grpc.Reflection.V1;

namespace Verification.Abuse.Tests;

/// <summary>A caller-chosen correlation id is scoped to the member that sent it; server reflection only for the roles the operator allows.</summary>
public class CallerScopeTests
{
    private static async Task<IReadOnlyList<string>> DenialsAsync(AbuseHost host, string member, int count)
    {
        IReadOnlyList<string> rows = [];
        for (var attempt = 0; attempt < 300 && rows.Count < count; attempt++)
        {
            await Task.Delay(100);
            rows = await host.AuditedDenialsAsync(member);
        }
        return rows;
    }

    [Fact]
    public async Task TwoMembersSendingTheSameCorrelationIdGetTwoTracesEachNamedByItsMember()
    {
        await using var host = await AbuseHost.StartAsync();
        var shared = "shared-" + Guid.NewGuid().ToString("N");
        foreach (var bank in new[] { "bank-bri", "bank-bni" })
        {
            using var channel = host.Channel(bank);
            // A bank may not read Prakerja batches: the denial is an audited event carrying the call's correlation id.
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await new PrakerjaService.PrakerjaServiceClient(channel).GetBatchAsync(
                new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }, new CallOptions(new Metadata { { "x-correlation-id", shared } }, DateTime.UtcNow.AddSeconds(30))));
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        }

        var bri = Assert.Single(await DenialsAsync(host, "bank-bri", 1));
        var bni = Assert.Single(await DenialsAsync(host, "bank-bni", 1));
        Assert.Contains($"\"correlationId\":\"bank-bri/{shared}\"", bri);
        Assert.Contains($"\"correlationId\":\"bank-bni/{shared}\"", bni);
    }

    [Fact]
    public async Task ACallerNamingAnotherMembersScopeInItsCorrelationIdStaysInItsOwn()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("bank-bni");
        await Assert.ThrowsAsync<RpcException>(async () => await new PrakerjaService.PrakerjaServiceClient(channel).GetBatchAsync(
            new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }, new CallOptions(new Metadata { { "x-correlation-id", "bank-bri/their-trace" } }, DateTime.UtcNow.AddSeconds(30))));
        Assert.Contains("\"correlationId\":\"bank-bni/bank-bri/their-trace\"", Assert.Single(await DenialsAsync(host, "bank-bni", 1)));
    }

    private static async Task<IReadOnlyList<string>> ListServicesAsync(AbuseHost host, string member)
    {
        using var channel = host.Channel(member);
        using var call = new ReflectionV1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        await call.RequestStream.WriteAsync(new ReflectionV1.ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext());
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        await call.RequestStream.CompleteAsync();
        return services;
    }

    /// <summary>
    /// The refusal comes at call start, before any message: read without writing (a write racing the refused stream's
    /// reset is resolved by the client as CANCELLED).
    /// </summary>
    private static async Task AssertRefusedAsync(AbuseHost host, string member)
    {
        using var channel = host.Channel(member);
        using var call = new ReflectionV1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(RpcCalls.WithTimeout(TimeSpan.FromSeconds(30)));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task ReflectionAnswersTheAllowedRolesAndRefusesPartnersAudited()
    {
        await using var host = await AbuseHost.StartAsync();
        Assert.Contains("verification.membership.v1.MembershipService", await ListServicesAsync(host, "auditor-bpk"));
        Assert.Contains("verification.membership.v1.MembershipService", await ListServicesAsync(host, "bpjs-admin"));

        foreach (var partner in new[] { "bank-bri", "prakerja-pmo", "kemnaker" }) await AssertRefusedAsync(host, partner);

        var audited = Assert.Single(await DenialsAsync(host, "bank-bri", 1));
        Assert.Contains("ServerReflectionInfo", audited);
        Assert.Contains("\"reasonCode\":\"ROLE_NOT_ALLOWED\"", audited);
    }

    [Fact]
    public async Task TheOperatorChoosesTheRolesThatMayUseReflection()
    {
        await using var host = await AbuseHost.StartAsync("Verification:Access:ReflectionRoles=Bank");
        Assert.Contains("verification.kur.v1.KurService", await ListServicesAsync(host, "bank-bri"));
        await AssertRefusedAsync(host, "auditor-bpk");
    }
}
