using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>EndCoverages: many ends answered item by item exactly as EndCoverage answers each, in one transaction.</summary>
public sealed class BulkCoverageEndTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    private static EnrollParticipantRequest Sponsored(string regency, DateOnly end)
    {
        var request = TestData.Bpu();
        request.Channel = EnrolmentChannel.LocalGovernment;
        request.ChannelReference = regency;
        request.StartDate = TestData.Today.AddMonths(-1).ToApi();
        request.EndDate = end.ToApi();
        return request;
    }

    private static EndCoverageRequest Move(string number, string regency, DateOnly to) => new()
    {
        ParticipantNumber = number, Programs = { Program.Jkk, Program.Jkm }, Channel = EnrolmentChannel.LocalGovernment, ChannelReference = regency,
        EndDate = to.ToApi(), ContractEndChange = true,
    };

    [Theory, BothProviders]
    public async Task EachItemIsAnsweredAsEndCoverageWouldAnswerItAndARepeatChangesNothing(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var client = host.Client("internal-services");
        var end = TestData.Today.AddMonths(2);
        var next = end.AddYears(1);
        var numbers = new List<string>();
        for (var i = 0; i < 3; i++) numbers.Add((await client.EnrollParticipantAsync(Sponsored("7372", end))).ParticipantNumber);
        var kur = (await client.EnrollParticipantAsync(TestData.Bpu())).ParticipantNumber;
        var ended = (await client.EnrollParticipantAsync(Sponsored("7372", end))).ParticipantNumber;
        await client.EndCoverageAsync(new EndCoverageRequest
        {
            ParticipantNumber = ended, Programs = { Program.Jkk, Program.Jkm }, Channel = EnrolmentChannel.LocalGovernment, ChannelReference = "7372",
            EndDate = TestData.Today.ToApi(), Reason = CoverageEndReason.Deceased,
        });

        var request = new EndCoveragesRequest
        {
            Items =
            {
                Move(numbers[0], "7372", next),
                Move(numbers[1], "7372", next),
                new EndCoverageRequest { ParticipantNumber = "12345678901" },
                Move(Domain.ParticipantNumber.FromSequence(8_888_888_887).Value, "7372", next),
                Move(ended, "7372", next),
                Move(kur, "7372", next),
                Move(numbers[2], "7372", next),
            },
        };
        var first = await client.EndCoveragesAsync(request);

        Assert.Equal(7, first.Results.Count);
        foreach (var i in new[] { 0, 1, 6 })
        {
            Assert.Equal(EndCoveragesResult.ResultOneofCase.Ended, first.Results[i].ResultCase);
            Assert.Equal([Program.Jkk, Program.Jkm], first.Results[i].Ended.EndedPrograms);
            Assert.Equal([Program.Jkk, Program.Jkm], first.Results[i].Ended.ActivePrograms);
        }

        Assert.Equal(Google.Rpc.Code.InvalidArgument, first.Results[2].Error.Code);
        Assert.Equal(["participant_number", "programs", "source", "end_date", "reason"], first.Results[2].Error.FieldViolations.Select(v => v.Field));
        Assert.Equal(Google.Rpc.Code.NotFound, first.Results[3].Error.Code);
        Assert.Equal(Google.Rpc.Code.FailedPrecondition, first.Results[4].Error.Code);
        // Another source's coverage is not this source's to move: nothing ended, as EndCoverage answers it.
        Assert.Empty(first.Results[5].Ended.EndedPrograms);

        foreach (var number in numbers)
        {
            var coverages = (await client.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = number })).Participant.Coverages;
            Assert.All(coverages, c => Assert.Equal((next.ToApi(), CoverageEndReason.Unspecified), (c.EndDate, c.EndReason)));
        }

        var again = await client.EndCoveragesAsync(request);
        Assert.Equal(first, again);
        // Published rows keep no payload: what was published is what the bus carried.
        var published = (await host.PublishedAsync()).All.OfType<CoverageEnded>().Where(e => numbers.Contains(e.ParticipantNumber)).ToList();
        Assert.Equal(3, published.Count);
        Assert.All(published, e => Assert.Equal(("CONTRACT_END_CHANGED", "LOCAL_GOVERNMENT", "7372"), (e.Reason, e.Channel, e.ChannelReference)));

        // The same answers one by one: the bulk call keeps EndCoverage's rules.
        var single = await client.EndCoverageAsync(Move(numbers[0], "7372", next));
        Assert.Equal(first.Results[0].Ended, single);
    }

    [Theory, BothProviders]
    public async Task TwoItemsForOneParticipantApplyInOrder(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var client = host.Client("internal-services");
        var end = TestData.Today.AddMonths(2);
        var number = (await client.EnrollParticipantAsync(Sponsored("7372", end))).ParticipantNumber;
        var finalEnd = TestData.Today.AddDays(5);

        var answer = await client.EndCoveragesAsync(new EndCoveragesRequest
        {
            Items =
            {
                Move(number, "7372", end.AddYears(1)),
                new EndCoverageRequest
                {
                    ParticipantNumber = number, Programs = { Program.Jkm }, Channel = EnrolmentChannel.LocalGovernment, ChannelReference = "7372",
                    EndDate = finalEnd.ToApi(), Reason = CoverageEndReason.Deceased,
                },
            },
        });

        Assert.Equal([Program.Jkk, Program.Jkm], answer.Results[0].Ended.EndedPrograms);
        Assert.Equal([Program.Jkm], answer.Results[1].Ended.EndedPrograms);
        var coverages = (await client.GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = number })).Participant.Coverages;
        Assert.Equal(end.AddYears(1).ToApi(), coverages.Single(c => c.Program == Program.Jkk).EndDate);
        Assert.Equal((finalEnd.ToApi(), CoverageEndReason.Deceased), (coverages.Single(c => c.Program == Program.Jkm).EndDate, coverages.Single(c => c.Program == Program.Jkm).EndReason));
    }

    [Theory, BothProviders]
    public async Task NoItemsOrMoreThanAThousandIsInvalidForTheCallAndOnlyInternalMembersMayCall(DatabaseProvider provider)
    {
        var host = await hosts.OnAsync(provider);
        var none = await RpcAssert.ViolationsAsync(async () => await host.Client("internal-services").EndCoveragesAsync(new EndCoveragesRequest()));
        Assert.Equal([("items", "ITEMS_COUNT_INVALID")], none);
        var many = new EndCoveragesRequest();
        many.Items.Add(Enumerable.Range(0, 1001).Select(_ => Move("12345678901", "7372", TestData.Today)));
        Assert.Equal([("items", "ITEMS_COUNT_INVALID")], await RpcAssert.ViolationsAsync(async () => await host.Client("internal-services").EndCoveragesAsync(many)));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, async () => await host.Client("bank-bri").EndCoveragesAsync(new EndCoveragesRequest { Items = { Move("12345678901", "7372", TestData.Today) } }));
    }
}
