using Grpc.Core;
using Microsoft.Data.Sqlite;
using Verification.Grpc.Tests.Support;
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

    /// <summary>The correlation ids of the member's audited denials, appended or waiting to be (each once), once there are <paramref name="count"/>.</summary>
    private static async Task<IReadOnlyList<string>> DenialCorrelationsAsync(AbuseHost host, string member, int count)
    {
        var rows = new List<string>();
        for (var attempt = 0; attempt < 300 && rows.Count < count; attempt++)
        {
            await Task.Delay(100);
            rows.Clear();
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(host.DataDirectory, "audit.db")};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT correlation_id FROM audit_entries WHERE event_type = 'AccessDenied' AND acting_member = $m
                UNION ALL
                SELECT correlation_id FROM audit_pending_events
                WHERE event_type = 'AccessDenied' AND acting_member = $m AND event_id NOT IN (SELECT event_id FROM audit_entries)
                """;
            command.Parameters.AddWithValue("$m", member);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        }
        return rows;
    }

    [Fact]
    public async Task TwoMembersSendingTheSameCorrelationIdGetTwoTracesEachNamedByItsMember()
    {
        await using var host = await AbuseHost.StartAsync();
        // "D": hyphens every 12 characters at most, so the id never holds a NIK-shaped run of 16 digits, which the log masks.
        var shared = "shared-" + Guid.NewGuid().ToString("D");
        foreach (var bank in new[] { "bank-bri", "bank-bni" })
        {
            using var channel = host.Channel(bank);
            // A bank may not read Prakerja batches: the denial is an audited event carrying the call's correlation id.
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await new PrakerjaService.PrakerjaServiceClient(channel).GetBatchAsync(
                new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }, new CallOptions(new Metadata { { "x-correlation-id", shared } }, DateTime.UtcNow.AddSeconds(30))));
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        }

        Assert.Equal($"bank-bri/{shared}", Assert.Single(await DenialCorrelationsAsync(host, "bank-bri", 1)));
        Assert.Equal($"bank-bni/{shared}", Assert.Single(await DenialCorrelationsAsync(host, "bank-bni", 1)));
    }

    [Fact]
    public async Task ACallerNamingAnotherMembersScopeInItsCorrelationIdStaysInItsOwn()
    {
        await using var host = await AbuseHost.StartAsync();
        using var channel = host.Channel("bank-bni");
        await Assert.ThrowsAsync<RpcException>(async () => await new PrakerjaService.PrakerjaServiceClient(channel).GetBatchAsync(
            new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }, new CallOptions(new Metadata { { "x-correlation-id", "bank-bri/their-trace" } }, DateTime.UtcNow.AddSeconds(30))));
        Assert.Equal("bank-bni/bank-bri/their-trace", Assert.Single(await DenialCorrelationsAsync(host, "bank-bni", 1)));
    }

    [Fact]
    public async Task APartnersTraceparentIsFollowedButTheCorrelationItFallsBackToStaysInTheMembersScope()
    {
        await using var host = await AbuseHost.StartAsync();
        // Another member's trace id, as a caller might have learnt it. Sent as is: this process's own HttpClient tracing
        // would otherwise replace the header with its own.
        const string theirs = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null, UseProxy = false });
        async Task<string?> DeniedAsync(string member)
        {
            var reply = await RawHttp2.PostAsync(client, host.Address, "/verification.prakerja.v1.PrakerjaService/GetBatch",
                RawHttp2.Frame(new GetBatchRequest { BatchId = Guid.NewGuid().ToString("N") }),
                headers: [("authorization", "Bearer " + host.Token(member)), ("traceparent", $"00-{theirs}-00f067aa0ba902b7-01")]);
            return reply.GrpcStatus;
        }

        // The trace id is followed (a bank finds what its call caused in the audit log by its own trace id), but the
        // correlation id it falls back to is scoped to the caller: naming another's trace joins no one else's correlation.
        Assert.Equal("7", await DeniedAsync("bank-bni"));
        Assert.Equal($"bank-bni/{theirs}", Assert.Single(await DenialCorrelationsAsync(host, "bank-bni", 1)));
        Assert.Equal("7", await DeniedAsync("bank-bri"));
        Assert.Equal($"bank-bri/{theirs}", Assert.Single(await DenialCorrelationsAsync(host, "bank-bri", 1)));
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
