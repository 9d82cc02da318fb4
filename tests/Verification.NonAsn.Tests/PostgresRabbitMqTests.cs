using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Api.NonAsn.V1;
using Verification.NonAsn.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Verification.NonAsn.Tests;

/// <summary>
/// Membership and NonAsn as two hosts, each on its own PostgreSQL databases, with RabbitMQ between them and the event
/// collector: the deployment's shape. Fails (never skips) when PostgreSQL or RabbitMQ cannot start.
/// </summary>
public sealed class PostgresRabbitMqFixture : IAsyncLifetime
{
    public NonAsnHost Membership { get; private set; } = null!;

    public NonAsnHost NonAsn { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Membership = await NonAsnHost.StartAsync(settings: [.. await NonAsnHost.PostgresAndRabbitMqSettingsAsync("membership"), "Verification:Services=membership"]);
        NonAsn = await NonAsnHost.StartAsync(shareMembersWith: Membership, settings:
            [.. await NonAsnHost.PostgresAndRabbitMqSettingsAsync("nonasn"), "Verification:Services=nonasn,events",
            NonAsnHost.NoEventsDatabase, $"Verification:Endpoints:membership={Membership.Address}"]);
    }

    public async Task DisposeAsync()
    {
        if (NonAsn is not null) await NonAsn.DisposeAsync();
        if (Membership is not null) await Membership.DisposeAsync();
    }
}

public sealed class PostgresRabbitMqTests(PostgresRabbitMqFixture fixture) : IClassFixture<PostgresRabbitMqFixture>
{
    [Fact]
    public async Task ABulkUploadOnPostgresRegistersEveryRowOnceWithEveryEventConsumedOnceThroughRabbitMq()
    {
        var client = fixture.NonAsn.NonAsn();
        var rows = Enumerable.Range(0, 800).Select(i => TestData.Row($"pg-{i}", TestData.Employee(programs: i % 3 == 0 ? [Program.Jkk, Program.Jkm, Program.Jht, Program.Jp] : []))).ToList();
        rows.Insert(400, TestData.Row("pg-bad", TestData.Employee(wage: -1)));
        rows.Insert(500, TestData.Row("pg-foreign", TestData.Employee(), employer: TestData.ParepareEmployer));

        var (first, firstSummary) = await Upload.RunAsync(client, rows);
        // Re-sent concurrently with a third copy: the registration keys decide, not the timing.
        var again = await Task.WhenAll(Upload.RunAsync(client, rows), Upload.RunAsync(client, rows));

        Assert.Equal((802L, 800L, 0L, 2L), (firstSummary.Rows, firstSummary.Registered, firstSummary.Unchanged, firstSummary.Rejected));
        Assert.Equal(rows.Select(r => r.RowId), first.Select(r => r.RowId));
        Assert.Equal(Google.Rpc.Code.PermissionDenied, first.Single(r => r.RowId == "pg-foreign").Error.Code);
        Assert.Equal("AMOUNT_NEGATIVE", first.Single(r => r.RowId == "pg-bad").Error.FieldViolations.Single().Reason);
        foreach (var (results, summary) in again)
        {
            Assert.Equal((0L, 800L, 2L), (summary.Registered, summary.Unchanged, summary.Rejected));
            Assert.Equal(first.Select(r => (r.EmploymentId, r.ParticipantNumber)), results.Select(r => (r.EmploymentId, r.ParticipantNumber)));
        }

        var registered = first.Where(r => r.Outcome == RegistrationOutcome.Registered).ToList();
        Assert.Equal(800, registered.Select(r => r.ParticipantNumber).Distinct().Count());
        var sample = rows[3].Employee;
        var participant = (await fixture.Membership.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = sample.Nik })).Participant;
        Assert.Equal(first[3].ParticipantNumber, participant.ParticipantNumber);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], participant.Coverages.Select(c => c.Program));

        // End one employment: Membership ends its coverage, through the same two hosts.
        var ended = await client.EndEmploymentAsync(new EndEmploymentRequest
        {
            EmployerNumber = TestData.KemnakerEmployer, Nik = sample.Nik, EndDate = TestData.ToApi(TestData.Today), Reason = EmploymentEndReason.ContractEnded,
        });
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht, Program.Jp], ended.EndedPrograms);

        var ids = registered.Select(r => r.EmploymentId).ToHashSet();
        var numbers = registered.Select(r => r.ParticipantNumber).ToHashSet();
        string Seen() => $"registered {fixture.NonAsn.Events.Registered.Where(e => ids.Contains(e.EmploymentId)).Select(e => e.EmploymentId).Distinct().Count()}, "
            + $"enrolled {fixture.NonAsn.Events.Enrolled.Where(e => numbers.Contains(e.ParticipantNumber)).Select(e => e.EventId).Distinct().Count()}, "
            + $"coverage started {fixture.NonAsn.Events.CoverageStarted.Where(e => numbers.Contains(e.ParticipantNumber)).Select(e => e.EventId).Distinct().Count()}, "
            + $"ended {fixture.NonAsn.Events.Ended.Count(e => e.EmploymentId == first[3].EmploymentId)}, coverage ended {fixture.NonAsn.Events.CoverageEnded.Count(e => e.ParticipantNumber == first[3].ParticipantNumber)}, "
            + $"denied {fixture.NonAsn.Events.Denied.Count(d => d.EmployerNumber == TestData.ParepareEmployer && d.ReasonCode == "EMPLOYER_NUMBER_NOT_OWN" && d.RpcMethod.EndsWith("RegisterEmployees", StringComparison.Ordinal))}";
        const string all = "registered 800, enrolled 800, coverage started 800, ended 1, coverage ended 1, denied ";
        try
        {
            await EventLog.WaitForAsync(() => Seen().StartsWith(all, StringComparison.Ordinal) && !Seen().EndsWith("denied 0", StringComparison.Ordinal),
                "every event through RabbitMQ", TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message} Seen: {Seen()}.", ex);
        }

        // One event per registration, whatever the repeats (each event id consumed once by the collector's queue).
        Assert.Equal(800, fixture.NonAsn.Events.Registered.Count(e => ids.Contains(e.EmploymentId)));
        Assert.Equal(800, fixture.NonAsn.Events.Enrolled.Count(e => numbers.Contains(e.ParticipantNumber)));
        Assert.Equal(800, fixture.NonAsn.Events.CoverageStarted.Count(e => numbers.Contains(e.ParticipantNumber)));
    }

    [Fact]
    public async Task TwoFirstUploadsOfTheSameRowsAtOnceOnPostgresRegisterEachRowOnceAndAnswerTheOtherUnchanged()
    {
        var client = fixture.NonAsn.NonAsn();
        var rows = Enumerable.Range(0, 600).Select(i => TestData.Row($"race-{i}", TestData.Employee())).ToList();

        // Both read no employment for a chunk, both ask Membership, and the second insert meets the first's rows.
        var uploads = await Task.WhenAll(Upload.RunAsync(client, rows), Upload.RunAsync(client, rows));

        Assert.Equal(600L, uploads.Sum(u => u.Summary.Registered));
        Assert.Equal(600L, uploads.Sum(u => u.Summary.Unchanged));
        Assert.All(uploads, u => Assert.Equal(0L, u.Summary.Rejected));
        Assert.Equal(uploads[0].Rows.Select(r => (r.EmploymentId, r.ParticipantNumber)), uploads[1].Rows.Select(r => (r.EmploymentId, r.ParticipantNumber)));
        var ids = uploads[0].Rows.Select(r => r.EmploymentId).ToHashSet();
        Assert.Equal(600, ids.Count);
        int Seen() => fixture.NonAsn.Events.Registered.Count(e => ids.Contains(e.EmploymentId));
        try
        {
            await EventLog.WaitForAsync(() => Seen() >= 600, "every registration's event", TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException ex)
        {
            using var scope = fixture.NonAsn.Services.CreateScope();
            var outbox = scope.ServiceProvider.GetRequiredService<Verification.NonAsn.Data.NonAsnDbContext>().Set<Verification.Platform.Outbox.OutboxMessage>();
            var pending = await outbox.CountAsync(m => m.PublishedAt == null);
            var published = await outbox.CountAsync(m => m.PublishedAt != null && m.MessageType.Contains("Registered"));
            var errors = string.Join(" | ", await outbox.Where(m => m.LastError != null).Select(m => m.LastError).Distinct().Take(3).ToListAsync());
            var queues = string.Join(", ", (await (await Verification.Testing.RabbitMqBroker.SharedAsync()).ListQueuesAsync()).Select(q => $"{q.Name} {q.Ready}/{q.Unacknowledged}"));
            throw new TimeoutException($"{ex.Message} Seen {Seen()} of 600 (all registered events: {fixture.NonAsn.Events.Registered.Count}); "
                + $"outbox: {pending} pending, {published} registered rows published, errors: {errors}; queues: {queues}.", ex);
        }
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(600, fixture.NonAsn.Events.Registered.Where(e => ids.Contains(e.EmploymentId)).Select(e => e.EventId).Distinct().Count());
    }
}
