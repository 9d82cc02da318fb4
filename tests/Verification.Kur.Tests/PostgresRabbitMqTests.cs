using Google.Rpc;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Microsoft.Extensions.DependencyInjection;
using Verification.Kur.Data;
using Verification.Kur.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Tests;

/// <summary>
/// Membership and KUR as two hosts, each on its own PostgreSQL databases, with RabbitMQ between them and the event
/// collector: the deployment's shape. Fails (never skips) when PostgreSQL or RabbitMQ cannot start.
/// </summary>
public sealed class PostgresRabbitMqFixture : IAsyncLifetime
{
    public KurHost Membership { get; set; } = null!;

    public KurHost Kur { get; private set; } = null!;

    public int MembershipPort { get; private set; }

    public string[] MembershipSettings { get; private set; } = [];

    /// <summary>Kept across a restart of Membership: it holds the members file and tokens both hosts use.</summary>
    public string MembershipDataDirectory { get; } = Path.Combine(Path.GetTempPath(), "verification-kur-tests-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        MembershipSettings = [.. await KurHost.PostgresAndRabbitMqSettingsAsync("membership"), "Verification:Services=membership"];
        Membership = await KurHost.StartAsync(dataDirectory: MembershipDataDirectory, settings: MembershipSettings);
        MembershipPort = Membership.Port;
        Kur = await KurHost.StartAsync(shareMembersWith: Membership, settings:
            [.. await KurHost.PostgresAndRabbitMqSettingsAsync("kur"), "Verification:Services=kur,events",
            // The collector has no database, but every module a PostgreSQL host runs must name one.
            "Verification:Database:ConnectionStrings:events=Host=127.0.0.1;Database=unused", $"Verification:Endpoints:membership={Membership.Address}"]);
    }

    public async Task DisposeAsync()
    {
        if (Kur is not null) await Kur.DisposeAsync();
        if (Membership is not null) await Membership.DisposeAsync();
        try
        {
            Directory.Delete(MembershipDataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder.
        }
    }
}

public sealed class PostgresRabbitMqTests(PostgresRabbitMqFixture fixture) : IClassFixture<PostgresRabbitMqFixture>
{
    [Fact]
    public void OnPostgresKurKeepsItsRecordsWithTheHandWrittenStatements()
    {
        using var scope = fixture.Kur.Services.CreateScope();
        Assert.IsType<PostgresKurStore>(scope.ServiceProvider.GetRequiredService<KurStore>());
    }

    [Fact]
    public async Task TheEnrolPathHoldsOnPostgresWithEveryEventConsumedThroughRabbitMq()
    {
        var kur = fixture.Kur.Kur();

        var fresh = TestData.Request();
        var enrolled = await kur.EnrolBorrowerAsync(fresh);
        Assert.Equal(EnrolmentOutcome.Enrolled, enrolled.Outcome);
        var verified = await fixture.Membership.Membership("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = fresh.Borrower.Nik });
        Assert.True(verified.Covered);

        var covered = TestData.Request(scheme: KurScheme.SuperMikro, amount: 10_000_000);
        await EndToEndTests.CoverAsWageEarnerAsync(fixture.Membership, covered.Borrower.Nik);
        Assert.Equal(EnrolmentOutcome.AlreadyCovered, (await kur.EnrolBorrowerAsync(covered)).Outcome);

        var concurrent = TestData.Request(scheme: KurScheme.Kecil, amount: 500_000_000);
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => kur.EnrolBorrowerAsync(concurrent).ResponseAsync));
        Assert.Single(responses.Distinct());
        var participant = (await fixture.Membership.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = concurrent.Borrower.Nik })).Participant;
        Assert.Equal(responses[0].ParticipantNumber, participant.ParticipantNumber);
        EndToEndTests.AssertOneKurCoverage(participant);

        var conflicting = concurrent.Clone();
        conflicting.DisbursementDate = TestData.ToApi(TestData.Today.AddDays(31));
        var conflict = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => kur.EnrolBorrowerAsync(conflicting).ResponseAsync);
        Assert.Equal("disbursement_date", conflict.GetDetail<ErrorInfo>()!.Metadata["fields"]);

        var foreign = TestData.Request(bankCode: "009");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => kur.EnrolBorrowerAsync(foreign).ResponseAsync);

        var loans = new[] { fresh.LoanReference, covered.LoanReference, concurrent.LoanReference };
        await EventCollector.WaitForAsync(() => loans.All(l => EventCollector.Enrolled.Any(e => e.LoanReference == l)), "KurBorrowerEnrolled through RabbitMQ");
        await EventCollector.WaitForAsync(() => EventCollector.Denied.Any(d => d.LoanReference == foreign.LoanReference), "AccessDenied through RabbitMQ");
        Assert.Equal(
            ["ENROLLED", "ALREADY_COVERED", "ENROLLED"],
            loans.Select(l => EventCollector.Enrolled.Where(e => e.LoanReference == l).Select(e => e.Outcome).Distinct().Single()));
        Assert.Single(EventCollector.Enrolled.Where(e => e.LoanReference == concurrent.LoanReference).Select(e => e.EventId).Distinct());
    }

    [Fact]
    public async Task WhenMembershipStopsTheBankRetriesAndGetsOneParticipant()
    {
        var kur = fixture.Kur.Kur();
        await fixture.Membership.DisposeAsync();
        var request = TestData.Request();
        try
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => kur.EnrolBorrowerAsync(request).ResponseAsync);
            Assert.NotNull(ex.GetDetail<RetryInfo>());
        }
        finally
        {
            // Same port, same databases: Membership is back as it was.
            fixture.Membership = await KurHost.StartAsync(fixture.MembershipDataDirectory, fixture.MembershipPort, settings: fixture.MembershipSettings);
        }

        // As a bank would: retry after the delay KUR gave until Membership is reachable again (KUR reconnects within seconds).
        EnrolBorrowerResponse? response = null;
        for (var attempt = 1; response is null; attempt++)
        {
            try
            {
                response = await kur.EnrolBorrowerAsync(request);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && attempt < 20)
            {
                await Task.Delay(ex.GetDetail<RetryInfo>()!.RetryDelay.ToTimeSpan());
            }
        }

        Assert.Equal(EnrolmentOutcome.Enrolled, response.Outcome);
        var participant = (await fixture.Membership.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        Assert.Equal(response.ParticipantNumber, participant.ParticipantNumber);
        EndToEndTests.AssertOneKurCoverage(participant);
    }
}
