using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using NikWarning = Verification.Api.Membership.V1.NikWarning;
using Sex = Verification.Api.Common.V1.Sex;
using Verification.Membership.Tests.Support;
using Verification.Platform.Data;
using Verification.Platform.Outbox;
using Grpc.Core;
using Verification.Api;
using Verification.Platform.Privacy;
using Verification.Testing;

namespace Verification.Membership.Tests;

/// <summary>
/// Enrolment behaviour through the wire, on SQLite (EF Core behind the write gate) and PostgreSQL (hand-written batched
/// SQL): idempotency, an existing NIK, events in the outbox with the change, concurrent keys and unique-violation races.
/// </summary>
public sealed class EnrolmentTests(MembershipHosts hosts) : IClassFixture<MembershipHosts>
{
    private MembershipHost _host = null!;

    private MembershipHost Host => _host;

    private MembershipService.MembershipServiceClient Internal => Host.Client("internal-services");

    /// <summary>The class's host on the theory's provider.</summary>
    private async Task UseHostAsync(DatabaseProvider provider) => _host = await hosts.OnAsync(provider);

    [Theory, BothProviders]
    public async Task ARepeatedIdempotencyKeyReturnsTheFirstAnswerAndChangesNothing(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Bpu();
        var first = await Internal.EnrollParticipantAsync(request);
        var again = await Internal.EnrollParticipantAsync(request);
        Assert.Equal(first, again);
        Assert.Equal(EnrollOutcome.Registered, again.Outcome); // the first answer, not "already covered"
        var nik = long.Parse(request.Nik, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, await Host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == nik)));
        Assert.Equal(1, await Host.QueryAsync(db => db.Coverages.CountAsync(c => db.Participants.Any(p => p.Id == c.ParticipantId && p.Nik == nik))));
    }

    [Theory, BothProviders]
    public async Task TheSameKeyWithAnotherRequestIsAlreadyExists(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Bpu();
        await Internal.EnrollParticipantAsync(request);
        var changed = request.Clone();
        changed.MonthlyIncomeRupiah += 1;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, async () => await Internal.EnrollParticipantAsync(changed));

        var otherPerson = TestData.Bpu();
        otherPerson.IdempotencyKey = request.IdempotencyKey;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, async () => await Internal.EnrollParticipantAsync(otherPerson));
    }

    [Theory, BothProviders]
    public async Task AnExistingNikReturnsTheParticipantAddsNewCoverageAndSaysSo(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bpu = TestData.Bpu();
        var registered = await Internal.EnrollParticipantAsync(bpu);

        // The same bank again, same programs, new loan: nothing new.
        var sameBank = bpu.Clone();
        sameBank.IdempotencyKey = Guid.NewGuid().ToString();
        var already = await Internal.EnrollParticipantAsync(sameBank);
        Assert.Equal(EnrollOutcome.AlreadyCovered, already.Outcome);
        Assert.Equal(registered.ParticipantNumber, already.ParticipantNumber);
        Assert.Empty(already.StartedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm], already.ActivePrograms);

        // The same bank adding JHT: only JHT starts.
        var withJht = sameBank.Clone();
        withJht.IdempotencyKey = Guid.NewGuid().ToString();
        withJht.Programs.Add(Program.Jht);
        var added = await Internal.EnrollParticipantAsync(withJht);
        Assert.Equal(EnrollOutcome.CoverageAdded, added.Outcome);
        Assert.Equal([Program.Jht], added.StartedPrograms);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht], added.ActivePrograms);

        // An employer taking them on as a wage earner: a new source, so new coverage.
        var employed = TestData.Pu(bpu.Nik);
        var byEmployer = await Internal.EnrollParticipantAsync(employed);
        Assert.Equal(EnrollOutcome.CoverageAdded, byEmployer.Outcome);
        Assert.Equal(registered.ParticipantNumber, byEmployer.ParticipantNumber);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], byEmployer.StartedPrograms);

        var participant = (await Internal.GetParticipantAsync(new GetParticipantRequest { Nik = bpu.Nik })).Participant;
        Assert.Equal(7, participant.Coverages.Count); // one API coverage per program: 2 + 1 + 4
        Assert.All(participant.Coverages, c => Assert.Equal(CoverageStatus.Active, c.Status));
    }

    [Theory, BothProviders]
    public async Task AKnownPersonStatedWithTheOtherSexGetsTheWarningStoredAndAContractEndIsKept(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var bpu = TestData.Bpu();
        var registered = await Internal.EnrollParticipantAsync(bpu);
        Assert.Empty(registered.NikWarnings);

        var employed = TestData.Pu(bpu.Nik, start: TestData.Today.AddMonths(-1));
        employed.Sex = Sex.Female;
        employed.EndDate = TestData.Today.AddMonths(11).ToApi();
        var added = await Internal.EnrollParticipantAsync(employed);

        Assert.Equal(EnrollOutcome.CoverageAdded, added.Outcome);
        Assert.Equal([NikWarning.SexMismatch], added.NikWarnings);
        var stored = (await Internal.GetParticipantAsync(new GetParticipantRequest { Nik = bpu.Nik })).Participant;
        Assert.Equal(registered.ParticipantNumber, stored.ParticipantNumber);
        Assert.Equal([NikWarning.SexMismatch], stored.NikWarnings);
        Assert.Equal(Sex.Male, stored.Sex); // the first statement stays; the disagreement is recorded
        var byEmployer = stored.Coverages.Where(c => c.Segment == Segment.Pu).ToList();
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], byEmployer.Select(c => c.Program));
        Assert.All(byEmployer, c => Assert.Equal((employed.StartDate, employed.EndDate), (c.StartDate, c.EndDate)));
        Assert.Equal([Program.Jkk, Program.Jkm], stored.Coverages.Where(c => c.Segment == Segment.Bpu).Select(c => c.Program));

        // The repeat of the employer's key replays its answer, warning included, and adds nothing.
        Assert.Equal(added, await Internal.EnrollParticipantAsync(employed));
        Assert.Equal(6, (await Internal.GetParticipantAsync(new GetParticipantRequest { Nik = bpu.Nik })).Participant.Coverages.Count);
    }

    [Theory, BothProviders]
    public async Task EachProviderEnrolsThroughItsOwnStore(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var store = Host.Services.GetRequiredService<RegistryStore>();
        Assert.IsType(provider == DatabaseProvider.Postgres ? typeof(PostgresRegistryStore) : typeof(SqliteRegistryStore), store);
    }

    [Theory, BothProviders]
    public async Task OneKeySentAtOnceForDifferentPersonsEnrolsOneAndRefusesTheRest(DatabaseProvider provider) =>
        await ConcurrencyChecks.OneKeyForDifferentPersonsAtOnceAsync(await hosts.OnAsync(provider));

    [Theory, BothProviders]
    public async Task FiftyConcurrentIdenticalEnrolmentsMakeOneParticipantWithOneNumber(DatabaseProvider provider) =>
        await ConcurrencyChecks.IdenticalEnrolmentsAsync(await hosts.OnAsync(provider));

    [Theory, BothProviders]
    public async Task ConcurrentEnrolmentsOfDifferentNiksNeverShareANumber(DatabaseProvider provider) =>
        await ConcurrencyChecks.DifferentEnrolmentsAsync(await hosts.OnAsync(provider));

    [Theory, BothProviders]
    public async Task EnrolmentWritesItsEventsToTheOutboxInTheSameTransaction(DatabaseProvider provider)
    {
        await UseHostAsync(provider);
        var request = TestData.Bpu();
        var response = await Internal.EnrollParticipantAsync(request);
        // Committed with the enrolment: the rows are there when the call returns, published or not.
        var rows = await Host.QueryAsync(db => db.OutboxMessages.AsNoTracking().ToListAsync());
        var events = await Host.QueryAsync(db => db.OutboxEvents.ToListAsync());
        var published = await Host.PublishedAsync();
        var enrolled = published.About(response.ParticipantNumber).OfType<ParticipantEnrolled>().Single();
        Assert.Contains(events, r => r.EventId == enrolled.EventId);
        Assert.Equal("3374••••••••" + request.Nik[^4..], enrolled.MaskedNik);
        Assert.Equal("BPU", enrolled.Segment);
        Assert.Equal("KUR", enrolled.Channel);
        Assert.Equal("internal-services", enrolled.ActingMember);
        Assert.Equal("membership", enrolled.SourceModule);
        // The NIK crossed the bus sealed to the audit key, bound to this event.
        using (var opener = new NikOpener([NikSealing.ReadPrivateKey(TestNikKeys.PrivateKeyPath, "test")]))
        {
            Assert.Equal(request.Nik, opener.Open(enrolled.SealedNik, enrolled.EventId));
        }

        var started = published.About(response.ParticipantNumber).OfType<CoverageStarted>().Single();
        Assert.Contains(events, r => r.EventId == started.EventId);
        // The enrolment's two events went in as one group row (OutboxEventGroup), published and marked as one.
        var group = events.Single(e => e.EventId == enrolled.EventId).SequenceId;
        Assert.Equal(group, events.Single(e => e.EventId == started.EventId).SequenceId);
        Assert.Equal(OutboxEventGroup.MessageType, rows.Single(r => r.SequenceId == group).MessageType);
        Assert.Equal(["JKK", "JKM"], started.Programs);
        Assert.Equal("002", started.ChannelReference);
        Assert.Null(started.EmployerNumber);
        // No row ever held the NIK in clear, and a published event keeps no payload at all: its group only the ids and types.
        Assert.All(rows, r => Assert.DoesNotContain(request.Nik, r.Payload, StringComparison.Ordinal));
        await Host.PublishedAsync();
        Assert.All(await Host.QueryAsync(db => db.OutboxEvents.ToListAsync()), e => Assert.Equal("", e.Payload));
        var kept = (await Host.QueryAsync(db => db.OutboxMessages.AsNoTracking().SingleAsync(r => r.SequenceId == group))).Payload;
        Assert.Contains(enrolled.EventId.ToString(), kept, StringComparison.Ordinal);
        Assert.Contains(started.EventId.ToString(), kept, StringComparison.Ordinal);
        Assert.DoesNotContain("payload", kept, StringComparison.Ordinal);

        // A replay publishes nothing new.
        var count = events.Count;
        await Internal.EnrollParticipantAsync(request);
        Assert.Equal(count, await Host.QueryAsync(db => db.OutboxEvents.CountAsync()));
    }
}

/// <summary>The concurrency checks.</summary>
public static class ConcurrencyChecks
{
    public static async Task IdenticalEnrolmentsAsync(MembershipHost host)
    {
        var request = TestData.Bpu();
        var client = host.Client("internal-services");
        using var start = new SemaphoreSlim(0);
        var calls = Enumerable.Range(0, 50).Select(async _ =>
        {
            await start.WaitAsync();
            return await client.EnrollParticipantAsync(request);
        }).ToList();
        start.Release(50);
        var responses = await Task.WhenAll(calls);

        Assert.Single(responses.Select(r => r.ParticipantNumber).Distinct());
        Assert.All(responses, r => Assert.Equal(responses[0], r));
        var nik = long.Parse(request.Nik, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, await host.QueryAsync(db => db.Participants.CountAsync(p => p.Nik == nik)));
        Assert.Equal(1, await host.QueryAsync(db => db.Coverages.CountAsync(c => db.Participants.Any(p => p.Id == c.ParticipantId && p.Nik == nik))));
        Assert.Equal(2, (await host.PublishedAsync()).About(responses[0].ParticipantNumber).Count);
    }

    /// <summary>One key sent at once for different persons (a caller's bug): one enrolment commits, every other call is refused.</summary>
    public static async Task OneKeyForDifferentPersonsAtOnceAsync(MembershipHost host)
    {
        var client = host.Client("internal-services");
        var key = Guid.NewGuid().ToString();
        var requests = Enumerable.Range(0, 20).Select(_ => { var r = TestData.Bpu(); r.IdempotencyKey = key; return r; }).ToList();
        using var start = new SemaphoreSlim(0);
        var calls = requests.Select(async r =>
        {
            await start.WaitAsync();
            try
            {
                return (Status: StatusCode.OK, Response: await client.EnrollParticipantAsync(r));
            }
            catch (RpcException ex)
            {
                return (Status: ex.StatusCode, Response: (EnrollParticipantResponse?)null);
            }
        }).ToList();
        start.Release(requests.Count);
        var results = await Task.WhenAll(calls);

        var enrolled = Assert.Single(results, r => r.Status == StatusCode.OK).Response!;
        Assert.Equal(EnrollOutcome.Registered, enrolled.Outcome);
        Assert.All(results.Where(r => r.Status != StatusCode.OK), r => Assert.Equal(StatusCode.AlreadyExists, r.Status));
        var niks = requests.Select(r => long.Parse(r.Nik, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(1, await host.QueryAsync(db => db.Participants.CountAsync(p => niks.Contains(p.Nik))));
        Assert.Equal(2, (await host.PublishedAsync()).About(enrolled.ParticipantNumber).Count);
    }

    public static async Task DifferentEnrolmentsAsync(MembershipHost host)
    {
        var client = host.Client("internal-services");
        var requests = Enumerable.Range(0, 60).Select(_ => TestData.Bpu()).ToList();
        // Some NIKs twice under different keys: the same person enrolled by two callers at once is still one participant.
        requests.AddRange(requests.Take(10).Select(r => { var again = r.Clone(); again.IdempotencyKey = Guid.NewGuid().ToString(); return again; }).ToList());
        using var start = new SemaphoreSlim(0);
        var calls = requests.Select(async r =>
        {
            await start.WaitAsync();
            return (r.Nik, Response: await client.EnrollParticipantAsync(r));
        }).ToList();
        start.Release(requests.Count);
        var results = await Task.WhenAll(calls);

        var numbers = results.GroupBy(r => r.Nik).Select(g => Assert.Single(g.Select(r => r.Response.ParticipantNumber).Distinct())).ToList();
        Assert.Equal(60, numbers.Distinct().Count());
        Assert.All(numbers, n => Assert.True(ParticipantNumber.IsValid(n)));
        Assert.Equal(10, results.Count(r => r.Response.Outcome == EnrollOutcome.AlreadyCovered));
        var stored = await host.QueryAsync(db => db.Participants.Select(p => p.Id).ToListAsync());
        Assert.Equal(stored.Count, stored.Distinct().Count());
    }
}
