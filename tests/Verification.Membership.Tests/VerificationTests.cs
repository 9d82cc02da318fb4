using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features.Seed;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Grpc.Core;
using Verification.Api;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>VerifyMembership and VerifyMembershipBatch through the wire, on SQLite and PostgreSQL.</summary>
public sealed class VerificationTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    private MembershipHost _host = null!;

    private MembershipHost Host => _host;

    /// <summary>The class's host on the theory's provider.</summary>
    private async Task UseHostAsync(DatabaseProvider provider) => _host = await hosts.OnAsync(provider);

    [Theory, BothProviders]
    public async Task TheVerificationReplyOnTheWireCarriesOnlyTheFourMinimalFields(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Pu();
        request.FullName = "Rahasia Pribadi";
        var enrolled = await Host.Client("internal-services").EnrollParticipantAsync(request);

        // Read the reply as raw bytes: Empty keeps every field it does not know, so nothing the server sent is lost.
        var raw = new Method<VerifyMembershipRequest, Empty>(MethodType.Unary, "verification.membership.v1.MembershipService", "VerifyMembership",
            Marshallers.Create(r => r.ToByteArray(), VerifyMembershipRequest.Parser.ParseFrom), Marshallers.Create(e => e.ToByteArray(), Empty.Parser.ParseFrom));
        var reply = await Host.Channel("prakerja-pmo").CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(), new VerifyMembershipRequest { Nik = request.Nik });
        var bytes = reply.ToByteArray();

        var fields = new List<int>();
        var input = new CodedInputStream(bytes);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            fields.Add(WireFormat.GetTagFieldNumber(tag));
            input.SkipLastField();
        }

        Assert.Subset(new HashSet<int> { 1, 2, 3, 4 }, fields.ToHashSet());
        Assert.Equal([1, 2, 3, 4], fields.Distinct().Order());
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        Assert.DoesNotContain(enrolled.ParticipantNumber, text);
        Assert.DoesNotContain(request.Nik, text);
        Assert.DoesNotContain("Rahasia", text);
        Assert.DoesNotContain("11000001", text);

        // And the contract itself has exactly these four fields.
        Assert.Equal(["covered", "status", "active_programs", "segment"], VerifyMembershipResponse.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
        var parsed = VerifyMembershipResponse.Parser.ParseFrom(bytes);
        Assert.True(parsed.Covered);
        Assert.Equal(MembershipStatus.Active, parsed.Status);
        Assert.Equal(Segment.Pu, parsed.Segment);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], parsed.ActivePrograms);
    }

    [Theory, BothProviders]
    public async Task StatusIsActiveInactiveOrNotRegisteredOnTheDayAsked(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var client = Host.Client("bank-bri");
        var unknown = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = TestData.Nik() });
        Assert.Equal(new VerifyMembershipResponse { Covered = false, Status = MembershipStatus.NotRegistered }, unknown);

        var request = TestData.Bpu();
        var start = TestData.Today.AddYears(-1);
        request.EndDate = TestData.Today.AddDays(-10).ToApi();
        await Host.Client("internal-services").EnrollParticipantAsync(request);

        var today = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Nik });
        Assert.Equal(new VerifyMembershipResponse { Covered = false, Status = MembershipStatus.Inactive }, today);

        var then = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Nik, AsOfDate = start.AddDays(5).ToApi() });
        Assert.True(then.Covered);
        Assert.Equal(Segment.Bpu, then.Segment);

        var beforeStart = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Nik, AsOfDate = start.AddDays(-1).ToApi() });
        Assert.Equal(MembershipStatus.Inactive, beforeStart.Status);

        var lastDay = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Nik, AsOfDate = TestData.Today.AddDays(-10).ToApi() });
        Assert.True(lastDay.Covered); // the end date is the last day covered
    }

    [Theory, BothProviders]
    public async Task AskingAboutOneProgramAnswersAboutThatProgramAndPuWinsTheSegment(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bpu = TestData.Bpu();
        await Host.Client("internal-services").EnrollParticipantAsync(bpu);
        await Host.Client("internal-services").EnrollParticipantAsync(TestData.Pu(bpu.Nik));
        var client = Host.Client("kemnaker");

        var any = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = bpu.Nik });
        Assert.Equal(Segment.Pu, any.Segment);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], any.ActivePrograms);

        var jp = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = bpu.Nik, Program = Program.Jp });
        Assert.Equal([Program.Jp], jp.ActivePrograms);
        var jkp = await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = bpu.Nik, Program = Program.Jkp });
        Assert.Equal(new VerifyMembershipResponse { Covered = false, Status = MembershipStatus.Inactive }, jkp);
    }

    [Fact]
    public async Task AnInvalidNikOrAFutureDayIsInvalidArgument()
    {
        await UseHostAsync(DatabaseProvider.Sqlite); // refused before any table is read
        var client = Host.Client("bank-bri");
        Assert.Equal([("nik", "NIK_WRONG_LENGTH")], await RpcAssert.ViolationsAsync(async () => await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = "123" })));
        Assert.Equal([("as_of_date", "DATE_IN_FUTURE")], await RpcAssert.ViolationsAsync(async () =>
            await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = TestData.Nik(), AsOfDate = TestData.Today.AddDays(1).ToApi() })));
        Assert.Equal([("program", "PROGRAM_UNKNOWN")], await RpcAssert.ViolationsAsync(async () =>
            await client.VerifyMembershipAsync(new VerifyMembershipRequest { Nik = TestData.Nik(), Program = (Program)9 })));
    }

    [Theory, BothProviders]
    public async Task BatchVerificationAnswersEveryRowId(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var people = new SyntheticRegistry(new SyntheticRegistryOptions(11)).Generate(300).ToList();
        var client = Host.Client("internal-services");
        // Enrol a few of them through the API so the batch meets real registry rows.
        foreach (var person in people.Take(40))
        {
            var request = TestData.Bpu(TestData.Digits(person.Nik), person.BirthDate, person.Sex == Verification.Domain.Sex.Female);
            await client.EnrollParticipantAsync(request);
        }

        await BatchChecks.EveryRowAnsweredAsync(Host, [], registeredAsBpu: people.Take(40).Select(p => p.Nik).ToList(), unregistered: people.Skip(40).Select(p => p.Nik).ToList());
    }

    [Fact]
    public async Task ABatchRowIdLongerThan64CharactersFailsTheCall()
    {
        await UseHostAsync(DatabaseProvider.Sqlite); // refused before any table is read
        using var call = Host.Client("prakerja-pmo").VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(20)));
        await call.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { new VerifyMembershipBatchItem { RowId = new string('r', 65), Nik = TestData.Nik() } } });
        await call.RequestStream.CompleteAsync();
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, async () => { while (await call.ResponseStream.MoveNext()) { } });
        Assert.Equal("items[0].row_id", ex.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations.Single().Field);
    }
}

/// <summary>A bulk verification over several chunks: every row answered once, with the right answer.</summary>
public static class BatchChecks
{
    public static async Task EveryRowAnsweredAsync(
        MembershipHost host, IReadOnlyList<SyntheticParticipant> seeded, IReadOnlyList<long>? registeredAsBpu = null, IReadOnlyList<long>? unregistered = null)
    {
        var today = TestData.Today;
        var expected = new Dictionary<string, VerifyMembershipBatchResult>();
        var items = new List<VerifyMembershipBatchItem>();
        void Row(string nik, VerifyMembershipBatchResult answer)
        {
            var rowId = "row-" + items.Count;
            answer.RowId = rowId;
            expected[rowId] = answer;
            items.Add(new VerifyMembershipBatchItem { RowId = rowId, Nik = nik });
        }

        foreach (var person in seeded)
        {
            var standing = MembershipStanding.Of([.. person.Coverages.Select(c => new CoverageSpan(c.Programs, c.Segment, c.StartDate, c.EndDate))], null, today);
            var answer = new VerifyMembershipBatchResult
            {
                Covered = standing.Covered,
                Status = standing.Covered ? MembershipStatus.Active : MembershipStatus.Inactive,
                Segment = standing.Segment is { } s ? (Segment)((int)s + 1) : Segment.Unspecified,
            };
            answer.ActivePrograms.Add(standing.ActivePrograms.ToList().Select(p => (Program)((int)p + 1)));
            Row(TestData.Digits(person.Nik), answer);
        }

        foreach (var nik in registeredAsBpu ?? Array.Empty<long>())
            Row(TestData.Digits(nik), new VerifyMembershipBatchResult { Covered = true, Status = MembershipStatus.Active, Segment = Segment.Bpu, ActivePrograms = { Program.Jkk, Program.Jkm } });
        foreach (var nik in unregistered ?? (IReadOnlyList<long>)[long.Parse(TestData.Nik(), System.Globalization.CultureInfo.InvariantCulture)])
            Row(TestData.Digits(nik), new VerifyMembershipBatchResult { Status = MembershipStatus.NotRegistered });
        Row("3374011508850000", new VerifyMembershipBatchResult { InvalidNikReason = InvalidNikReason.SerialZero });
        Row("12", new VerifyMembershipBatchResult { InvalidNikReason = InvalidNikReason.WrongLength });
        Row("", new VerifyMembershipBatchResult { InvalidNikReason = InvalidNikReason.Missing });
        Row("9900003208850000", new VerifyMembershipBatchResult { InvalidNikReason = InvalidNikReason.UnknownProvince });

        using var call = host.Client("prakerja-pmo").VerifyMembershipBatch(RpcCalls.WithTimeout(TimeSpan.FromSeconds(60)));
        var answers = new List<VerifyMembershipBatchResult>();
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext()) answers.AddRange(call.ResponseStream.Current.Results);
        });
        foreach (var chunk in items.Chunk(250))
            await call.RequestStream.WriteAsync(new VerifyMembershipBatchRequest { Items = { chunk } });
        await call.RequestStream.CompleteAsync();
        await reading;

        Assert.Equal(items.Count, answers.Count);
        Assert.Equal(expected.Keys.Order(), answers.Select(a => a.RowId).Order());
        foreach (var answer in answers) Assert.Equal(expected[answer.RowId], answer);
    }
}
