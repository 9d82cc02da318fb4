using Microsoft.EntityFrameworkCore;
using Verification.Api.Membership.V1;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features.Seed;
using Verification.Membership.Tests.Support;

namespace Verification.Membership.Tests;

public sealed class SeedTests
{
    [Fact]
    public void TheSameSeedGivesTheSameParticipantsAndAnotherSeedOthers()
    {
        var first = new SyntheticRegistry(new SyntheticRegistryOptions(42)).Generate(5000).ToList();
        var second = new SyntheticRegistry(new SyntheticRegistryOptions(42)).Generate(5000).ToList();
        var other = new SyntheticRegistry(new SyntheticRegistryOptions(43)).Generate(5000).ToList();
        Assert.Equal(first.Select(Describe), second.Select(Describe));
        Assert.True(first.Select(p => p.Nik).Intersect(other.Select(p => p.Nik)).Count() < 50);
    }

    [Fact]
    public void GeneratedNiksAreValidUniqueAndRealisticallySpread()
    {
        var options = new SyntheticRegistryOptions(3);
        var people = new SyntheticRegistry(options).Generate(50_000).ToList();
        var niks = people.Select(p => Nik.Parse(p.Nik.ToString("D16", System.Globalization.CultureInfo.InvariantCulture))).ToList();

        Assert.Equal(people.Count, people.Select(p => p.Nik).Distinct().Count());
        Assert.Equal(IndonesianProvinces.All.Select(p => p.Code).Order(), niks.Select(n => n.ProvinceCode).Distinct().Order());
        // Java holds more than half the population; the NIK's +40 agrees with the stated sex.
        Assert.InRange(niks.Count(n => n.ProvinceCode is "31" or "32" or "33" or "34" or "35" or "36") / (double)niks.Count, 0.5, 0.62);
        Assert.All(people.Zip(niks), pair => Assert.Equal(pair.First.Sex, pair.Second.EncodedSex));
        Assert.InRange(people.Count(p => p.Sex == Sex.Female) / (double)people.Count, 0.37, 0.43);

        var today = options.Today;
        Assert.All(people, p => Assert.InRange(p.BirthDate, today.AddYears(-66), today.AddYears(-17)));
        var coverages = people.SelectMany(p => p.Coverages.Select(c => (Person: p, Coverage: c))).ToList();
        Assert.All(coverages, x => Assert.True(x.Person.BirthDate.AddYears(15) <= x.Coverage.StartDate && x.Coverage.StartDate <= today));
        Assert.All(coverages, x => Assert.False(x.Coverage.Programs.Except(SegmentPrograms.OfferedTo(x.Coverage.Segment)).Count > 0));
        var lapsed = people.Count(p => !MembershipStanding.Of([.. p.Coverages.Select(c => new CoverageSpan(c.Programs, c.Segment, c.StartDate, c.EndDate))], null, today).Covered);
        Assert.InRange(lapsed / (double)people.Count, 0.10, 0.25);
        Assert.InRange(people.Count(p => p.Coverages.Any(c => c.Segment == ParticipantSegment.Pu)) / (double)people.Count, 0.60, 0.70);
        Assert.InRange(people.Count(p => p.NikWarnings != 0), 1, 500);
        Assert.All(people.Where(p => p.NikWarnings != 0), p => Assert.NotEmpty(Nik.Parse(p.Nik.ToString("D16", System.Globalization.CultureInfo.InvariantCulture)).CrossCheck(p.BirthDate, p.Sex)));
    }

    [Fact]
    public async Task TheSeedCommandFillsSqliteInBatchesAndEnrolmentsContinueTheNumbering()
    {
        await using var host = await MembershipHost.StartSqliteAsync();
        var code = await MembershipSeeder.RunAsync(host.Services, ["seed", "--count", "3000", "--seed", "5", "--batch", "1000"], CancellationToken.None);
        Assert.Equal(0, code);
        Assert.Equal(3000, await host.QueryAsync(db => db.Participants.CountAsync()));

        var enrolled = await host.Client("internal-services").EnrollParticipantAsync(TestData.Bpu());
        Assert.Equal(3001, ParticipantNumber.Parse(enrolled.ParticipantNumber).Sequence);
        var seeded = new SyntheticRegistry(new SyntheticRegistryOptions(5)).Generate(3000).ToList();
        await BatchChecks.EveryRowAnsweredAsync(host, seeded.Take(600).ToList());

        // The internal member reads the whole name (an auditor reads initials: AuditorViewInitialsTests).
        var first = (await host.Client("internal-services").GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = ParticipantNumber.FromSequence(1).Value })).Participant;
        Assert.Equal(seeded[0].FullName, first.FullName);
        Assert.Equal(2, await MembershipSeeder.RunAsync(host.Services, ["seed", "--count", "many"], CancellationToken.None));
    }

    private static string Describe(SyntheticParticipant p) =>
        $"{p.Nik} {p.FullName} {p.BirthDate} {p.Sex} {p.NikWarnings} " + string.Join(";", p.Coverages.Select(c => $"{c.Programs} {c.Segment} {c.Source} {c.MonthlyIncome} {c.StartDate} {c.EndDate} {c.EndReason}"));
}
