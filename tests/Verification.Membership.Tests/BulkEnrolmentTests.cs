using Microsoft.EntityFrameworkCore;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Verification.Platform.Privacy;
using Grpc.Core;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>EnrollParticipants: a chunk answered item by item exactly as EnrollParticipant answers each, in one transaction.</summary>
public sealed class BulkEnrolmentTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    [Theory, BothProviders]
    public async Task EachItemIsAnsweredAsEnrollParticipantWouldAnswerIt(DatabaseProvider provider) => await EachItemIsAnsweredAsAloneAsync(await hosts.OnAsync(provider));

    [Theory, BothProviders]
    public async Task ConcurrentChunksSharingPersonsMakeOneParticipantEachWithDistinctNumbers(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        await EachItemIsAnsweredAsAloneAsync(host);
        var client = host.Client("internal-services");
        var niks = Enumerable.Range(0, 300).Select(_ => TestData.Nik()).ToList();
        // Two chunks over the same persons in opposite orders, plus single enrolments of some of them, all at once.
        var forward = Chunk(niks.Select(n => TestData.Pu(n)));
        var backward = Chunk(Enumerable.Reverse(niks).Select(n => TestData.Bpu(n)));
        var singles = niks.Take(20).Select(n => client.EnrollParticipantAsync(TestData.Pu(n)).ResponseAsync);
        var answers = await Task.WhenAll(client.EnrollParticipantsAsync(forward).ResponseAsync, client.EnrollParticipantsAsync(backward).ResponseAsync);
        await Task.WhenAll(singles);

        var numbers = answers[0].Results.Select(r => r.Enrolled.ParticipantNumber).ToList();
        Assert.Equal(300, numbers.Distinct().Count());
        Assert.Equal(numbers, Enumerable.Reverse(answers[1].Results).Select(r => r.Enrolled.ParticipantNumber));
        var stored = niks.Select(n => long.Parse(n, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(300, await host.QueryAsync(db => db.Participants.CountAsync(p => stored.Contains(p.Nik))));
    }

    [Theory, BothProviders]
    public async Task AChunkStoresWhatEnrollParticipantStoresWithNikWarningsOfKnownAndNewPersons(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var client = host.Client("internal-services");
        var known = TestData.Bpu();
        await client.EnrollParticipantAsync(known);
        // A known person stated with the other sex: the warning is added to the stored participant.
        var knownOtherSex = TestData.Pu(known.Nik);
        knownOtherSex.Sex = Sex.Female;
        // A person new in this chunk, then stated with another birth date in the same chunk.
        var fresh = TestData.Pu(start: TestData.Today.AddMonths(-2));
        fresh.EndDate = TestData.Today.AddYears(1).ToApi();
        var freshOtherDate = TestData.Bpu(fresh.Nik);
        freshOtherDate.BirthDate = new Date { Year = 1990, Month = 5, Day = 18 };

        var results = (await client.EnrollParticipantsAsync(Chunk([knownOtherSex, fresh, freshOtherDate]))).Results;

        Assert.Equal([NikWarning.SexMismatch], results[0].Enrolled.NikWarnings);
        Assert.Equal([NikWarning.BirthDateMismatch], results[2].Enrolled.NikWarnings);
        var knownStored = (await client.GetParticipantAsync(new GetParticipantRequest { Nik = known.Nik })).Participant;
        Assert.Equal([NikWarning.SexMismatch], knownStored.NikWarnings);
        var freshStored = (await client.GetParticipantAsync(new GetParticipantRequest { Nik = fresh.Nik })).Participant;
        Assert.Equal([NikWarning.BirthDateMismatch], freshStored.NikWarnings);
        Assert.Equal((results[1].Enrolled.ParticipantNumber, "Siti Aminah", fresh.BirthDate, Sex.Male),
            (freshStored.ParticipantNumber, freshStored.FullName, freshStored.BirthDate, freshStored.Sex));
        var employer = freshStored.Coverages.Where(c => c.Segment == Segment.Pu).ToList();
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], employer.Select(c => c.Program));
        Assert.All(employer, c => Assert.Equal((fresh.StartDate, fresh.EndDate), (c.StartDate, c.EndDate)));
        Assert.Equal([Program.Jkk, Program.Jkm], freshStored.Coverages.Where(c => c.Segment == Segment.Bpu).Select(c => c.Program));

        // The stored answers replay exactly.
        var again = (await client.EnrollParticipantsAsync(Chunk([knownOtherSex, fresh, freshOtherDate]))).Results;
        Assert.Equal(results, again);
    }

    [Fact]
    public async Task ACallOfNoOrTooManyItemsIsInvalid()
    {
        var internalServices = (await hosts.OnAsync(DatabaseProvider.Sqlite)).Client("internal-services");
        Assert.Equal([("items", "ITEMS_COUNT_INVALID")], await RpcAssert.ViolationsAsync(async () => await internalServices.EnrollParticipantsAsync(new EnrollParticipantsRequest())));
        Assert.Equal([("items", "ITEMS_COUNT_INVALID")], await RpcAssert.ViolationsAsync(async () =>
            await internalServices.EnrollParticipantsAsync(Chunk(Enumerable.Range(0, 1_001).Select(_ => TestData.Bpu())))));
    }

    [Fact]
    public async Task OnlyInternalServicesMayEnrolInBulk() =>
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, async () => await (await hosts.OnAsync(DatabaseProvider.Sqlite)).Client("bank-bri").EnrollParticipantsAsync(Chunk([TestData.Bpu()])));

    [Theory, BothProviders]
    public async Task AContractEndMovesAndStaysMovableUntilTheCoverageIsEnded(DatabaseProvider provider)
    {
        var internalServices = (await hosts.OnAsync(provider)).Client("internal-services");
        var enrolled = await internalServices.EnrollParticipantAsync(TestData.Pu(start: TestData.Today.AddMonths(-3)));
        EndCoverageRequest End(DateOnly day, bool contract) => new()
        {
            ParticipantNumber = enrolled.ParticipantNumber, Programs = { Program.Jkk, Program.Jkm }, EmployerNumber = "11000001",
            EndDate = day.ToApi(), Reason = contract ? CoverageEndReason.Unspecified : CoverageEndReason.EmploymentEnded, ContractEndChange = contract,
        };

        var moved = await internalServices.EndCoverageAsync(End(TestData.Today.AddYears(1), contract: true));
        var again = await internalServices.EndCoverageAsync(End(TestData.Today.AddYears(1), contract: true));
        var movedBack = await internalServices.EndCoverageAsync(End(TestData.Today.AddMonths(6), contract: true));
        var ended = await internalServices.EndCoverageAsync(End(TestData.Today.AddDays(3), contract: false));

        Assert.Equal([Program.Jkk, Program.Jkm], moved.EndedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm], again.EndedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm], movedBack.EndedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm], ended.EndedPrograms);
        var coverages = (await internalServices.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = enrolled.ParticipantNumber })).Participant.Coverages;
        Assert.All(coverages.Where(c => c.Program is Program.Jkk or Program.Jkm), c => Assert.Equal((TestData.Today.AddDays(3).ToApi(), CoverageEndReason.EmploymentEnded), (c.EndDate, c.EndReason)));
        Assert.All(coverages.Where(c => c.Program is Program.Jht or Program.Jp), c => Assert.Equal(CoverageEndReason.Unspecified, c.EndReason));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, async () => await internalServices.EndCoverageAsync(End(TestData.Today.AddYears(2), contract: true)));
    }

    [Theory, BothProviders]
    public async Task EachNewParticipantOfAChunkHasItsNikSealedForItsOwnEventOnly(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var items = Enumerable.Range(0, 3).Select(_ => TestData.Bpu()).ToList();

        var results = (await host.Client("internal-services").EnrollParticipantsAsync(Chunk(items))).Results;

        var published = await host.PublishedAsync();
        var enrolled = results.Select(r => published.About(r.Enrolled.ParticipantNumber).OfType<ParticipantEnrolled>().Single()).ToList();
        using var opener = new NikOpener([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]);
        for (var i = 0; i < items.Count; i++)
        {
            Assert.Equal(items[i].Nik, opener.Open(enrolled[i].SealedNik, enrolled[i].EventId));
            Assert.Throws<SealedNikException>(() => opener.Open(enrolled[i].SealedNik, enrolled[(i + 1) % items.Count].EventId));
        }
    }

    private static async Task EachItemIsAnsweredAsAloneAsync(MembershipHost host)
    {
        var client = host.Client("internal-services");
        var known = TestData.Bpu();
        var knownAnswer = await client.EnrollParticipantAsync(known);
        var fresh = TestData.Pu();
        var sameNikOtherSource = TestData.Bpu(fresh.Nik);
        var invalid = TestData.Pu();
        invalid.BirthDate = TestData.Today.AddDays(1).ToApi();
        var reused = TestData.Pu();
        reused.IdempotencyKey = fresh.IdempotencyKey;
        var coverageAdded = TestData.Pu(known.Nik);
        var chunk = Chunk([fresh, known, invalid, sameNikOtherSource, fresh, reused, coverageAdded]);

        var response = await client.EnrollParticipantsAsync(chunk);
        var repeat = await client.EnrollParticipantsAsync(chunk);

        var results = response.Results;
        Assert.Equal(7, results.Count);
        Assert.Equal(EnrollOutcome.Registered, results[0].Enrolled.Outcome);
        Assert.Equal(knownAnswer, results[1].Enrolled); // a key answered before: its first answer
        Assert.Equal(Google.Rpc.Code.InvalidArgument, results[2].Error.Code);
        Assert.Contains(results[2].Error.FieldViolations, v => v.Field == "birth_date" && v.Reason == "DATE_IN_FUTURE");
        Assert.Equal((EnrollOutcome.CoverageAdded, results[0].Enrolled.ParticipantNumber), (results[3].Enrolled.Outcome, results[3].Enrolled.ParticipantNumber));
        Assert.Equal(results[0].Enrolled, results[4].Enrolled); // the same key again in the chunk
        Assert.Equal(Google.Rpc.Code.AlreadyExists, results[5].Error.Code);
        Assert.Equal((EnrollOutcome.CoverageAdded, knownAnswer.ParticipantNumber), (results[6].Enrolled.Outcome, results[6].Enrolled.ParticipantNumber));
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], results[6].Enrolled.StartedPrograms);
        Assert.Equal(response, repeat);
        // Single calls with the chunk's keys get the chunk's answers.
        Assert.Equal(results[0].Enrolled, await client.EnrollParticipantAsync(fresh));
        Assert.Equal(results[6].Enrolled, await client.EnrollParticipantAsync(coverageAdded));

        var nik = long.Parse(fresh.Nik, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, await host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == nik)));
        Assert.Equal(2, await host.QueryAsync(db => db.Coverages.CountAsync(c => db.Participants.Any(p => p.Id == c.ParticipantId && p.Nik == nik))));
        var invalidNik = long.Parse(invalid.Nik, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, await host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == invalidNik)));
        // Events as EnrollParticipant writes them: one ParticipantEnrolled for the new person, one CoverageStarted per coverage started.
        var numbers = new[] { results[0].Enrolled.ParticipantNumber, knownAnswer.ParticipantNumber };
        var published = await host.PublishedAsync();
        Assert.Single(published.About(numbers[0]).OfType<ParticipantEnrolled>());
        Assert.Equal(2, published.About(numbers[0]).OfType<CoverageStarted>().Count());
        Assert.Equal(2, published.About(numbers[1]).OfType<CoverageStarted>().Count());
    }

    private static EnrollParticipantsRequest Chunk(IEnumerable<EnrollParticipantRequest> items)
    {
        var request = new EnrollParticipantsRequest();
        request.Items.Add(items);
        return request;
    }
}
