using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Data;
using Verification.Membership.Features.Seed;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;

namespace Verification.Membership.Tests;

/// <summary>What the issue asks to see on PostgreSQL: concurrent enrolment and the seed's binary COPY (a fresh database each).</summary>
public sealed class PostgresTests
{
    [Fact]
    public async Task FiftyConcurrentIdenticalEnrolmentsOnPostgresMakeOneParticipantWithOneNumber()
    {
        await using var host = await MembershipHost.StartPostgresAsync();
        await ConcurrencyChecks.IdenticalEnrolmentsAsync(host);
    }

    [Fact]
    public async Task ConcurrentEnrolmentsOfDifferentNiksOnPostgresNeverShareANumber()
    {
        await using var host = await MembershipHost.StartPostgresAsync();
        await ConcurrencyChecks.DifferentEnrolmentsAsync(host);
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
        var enrolled = await host.Client("internal-services").EnrollParticipant(TestData.Bpu());
        Assert.True(Domain.ParticipantNumber.Parse(enrolled.ParticipantNumber).Sequence > 20_000);

        await BatchChecks.EveryRowAnsweredAsync(host, expected.Take(1500).ToList());
    }
}
