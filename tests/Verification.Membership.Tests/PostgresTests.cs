using Google.Rpc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Data;
using Verification.Membership.Features.Seed;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>
/// What only PostgreSQL has: a database outage and its recovery (a server of its own), and the seed's binary COPY (a fresh
/// database). Concurrent enrolment runs on both providers in EnrolmentTests.
/// </summary>
public sealed class PostgresTests
{
    [Fact]
    public async Task WhileTheDatabaseIsDownCallsAreUnavailableWithRetryInfoAndTheRetryAfterwardsEnrolsOnce()
    {
        var server = await PostgresServer.StartDedicatedAsync(durable: false);
        await using (var host = await MembershipHost.StartPostgresAsync(server))
        {
            await UnavailableWhileDownThenEnrolsOnceAsync(server, host);
        }

        await server.StopAsync();
    }

    private static async Task UnavailableWhileDownThenEnrolsOnceAsync(PostgresServer server, MembershipHost host)
    {
        var bank = host.Client("bank-bri");
        var enrolment = TestData.Bpu();
        var verify = new VerifyMembershipRequest { Nik = enrolment.Nik };
        Assert.Equal(MembershipStatus.NotRegistered, (await bank.VerifyMembershipAsync(verify)).Status);

        await server.StopAsync();
        foreach (var call in new Func<Task>[]
        {
            async () => await bank.VerifyMembershipAsync(verify),
            async () => await host.Client("internal-services").EnrollParticipantAsync(enrolment),
        })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
            Assert.NotNull(ex.GetDetail<RetryInfo>());
            Assert.DoesNotContain(enrolment.Nik, ex.Status.Detail, StringComparison.Ordinal);
        }

        await server.StartAsync();
        EnrollParticipantResponse? enrolled = null;
        for (var attempt = 0; enrolled is null; attempt++)
        {
            try
            {
                enrolled = await host.Client("internal-services").EnrollParticipantAsync(enrolment);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && attempt < 50)
            {
                await Task.Delay(200); // pooled connections to the stopped server are found broken one by one
            }
        }

        Assert.Equal(enrolled, await host.Client("internal-services").EnrollParticipantAsync(enrolment));
        Assert.Equal(MembershipStatus.Active, (await bank.VerifyMembershipAsync(verify)).Status);
        var nik = long.Parse(enrolment.Nik, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, await host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == nik)));
    }

    [Fact]
    public async Task SeedingWithCopyThenEnrollingAndVerifyingInBulkOnPostgres()
    {
        await using var host = await MembershipHost.StartPostgresAsync();
        var database = host.Services.GetRequiredKeyedService<ModuleDatabase>(typeof(MembershipDbContext));
        var result = await MembershipSeeder.SeedAsync(database, new SeedArguments(20_000, 7, 0.15, null, 5_000), TextWriter.Null, CancellationToken.None);
        Assert.Equal(20_000, result.Participants);

        // Stored as generated, numbered 1..N from the sequence.
        var expected = new SyntheticRegistry(new SyntheticRegistryOptions(7)).Generate(20_000).ToList();
        var stored = await host.QueryAsync(db => db.Participants.AsNoTracking().OrderBy(p => p.Id).Select(p => new { p.Id, p.Nik }).ToListAsync());
        Assert.Equal(expected.Select(p => p.Nik), stored.Select(p => p.Nik));
        Assert.Equal(Enumerable.Range(1, 20_000).Select(i => (long)i), stored.Select(p => p.Id));
        Assert.Equal(expected.Sum(p => p.Coverages.Count), await host.QueryAsync(db => db.Coverages.CountAsync()));

        // An enrolment after the seed takes the next number.
        var enrolled = await host.Client("internal-services").EnrollParticipantAsync(TestData.Bpu());
        Assert.True(Domain.ParticipantNumber.Parse(enrolled.ParticipantNumber).Sequence > 20_000);

        await BatchChecks.EveryRowAnsweredAsync(host, expected.Take(1500).ToList());
    }
}
