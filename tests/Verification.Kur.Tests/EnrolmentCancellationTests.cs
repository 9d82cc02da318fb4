using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using Verification.Domain;
using Verification.Testing;
using DomainSex = Verification.Domain.Sex;

namespace Verification.Kur.Tests;

/// <summary>Cancellation before disbursement ends exactly the coverage the loan started, once, even across a Membership outage.</summary>
public sealed class EnrolmentCancellationTests(KurDatabases databases) : IClassFixture<KurDatabases>
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 5, 0, 0, TimeSpan.Zero); // 12:00 WIB
    private static readonly DateOnly Disbursement = new(2026, 11, 25);

    private readonly FakeMembership _membership = new();
    private readonly TestClock _clock = new(Noon);
    private KurDatabase _database = null!;

    /// <summary>The class's database on the theory's provider; each test enrols loans of its own.</summary>
    private async Task UseDatabaseAsync(DatabaseProvider provider) => _database = await databases.OnAsync(provider);

    [Theory, BothProviders]
    public async Task CancellingBeforeDisbursementEndsTheCoverageThisLoanStarted(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var enrolled = await EnrolAsync();
        _clock.Now = Noon.AddDays(2);

        var cancelled = Assert.IsType<CancellationResult.Cancelled>(await CancelAsync(enrolled.LoanReference)).Record;

        Assert.Equal(EnrolmentRecordState.Cancelled, cancelled.State);
        Assert.Equal("JKK,JKM", cancelled.EndedPrograms);
        Assert.Equal(CancellationReasonKind.LoanRejected, cancelled.CancelReason);
        Assert.Equal("bank-bri", cancelled.CancelMemberCode);
        var end = Assert.Single(_membership.EndRequests);
        Assert.Equal(enrolled.ParticipantNumber, end.ParticipantNumber);
        Assert.Equal([Program.Jkk, Program.Jkm], end.Programs);
        Assert.Equal(EnrolmentChannel.Kur, end.Channel);
        Assert.Equal("002", end.ChannelReference);
        Assert.Equal(Api.Membership.V1.CoverageEndReason.LoanCancelled, end.Reason);
        Assert.Equal(new Date { Year = 2026, Month = 11, Day = 22 }, end.EndDate);
        Assert.Contains(await _database.OutboxAsync(enrolled.LoanReference), m => m.MessageType.EndsWith("KurEnrolmentCancelled", StringComparison.Ordinal));
    }

    [Theory, BothProviders]
    public async Task CancellingAnAlreadyCoveredBorrowerEndsNothing(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        _membership.Covered["3374011508900001"] = [Program.Jkk, Program.Jkm];
        var record = await EnrolAsync();

        var cancelled = Assert.IsType<CancellationResult.Cancelled>(await CancelAsync(record.LoanReference)).Record;

        Assert.Equal(EnrolmentRecordState.Cancelled, cancelled.State);
        Assert.Equal("", cancelled.EndedPrograms);
        Assert.Empty(_membership.EndRequests);
    }

    [Theory, BothProviders]
    public async Task OnOrAfterTheDisbursementDateTheEnrolmentStays(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var record = await EnrolAsync();
        _clock.Now = new DateTimeOffset(2026, 11, 24, 17, 0, 0, TimeSpan.Zero); // 00:00 WIB on 25 November

        Assert.IsType<CancellationResult.AlreadyDisbursed>(await CancelAsync(record.LoanReference));

        Assert.Empty(_membership.EndRequests);
        Assert.Equal(EnrolmentRecordState.Active, Assert.Single(await _database.RecordsAsync(record.LoanReference)).State);
    }

    [Theory, BothProviders]
    public async Task ARepeatedCancellationReturnsTheFirstAnswer(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var record = await EnrolAsync();
        var first = Assert.IsType<CancellationResult.Cancelled>(await CancelAsync(record.LoanReference)).Record;
        _clock.Now = Noon.AddDays(10); // even after disbursement

        var again = Assert.IsType<CancellationResult.Cancelled>(await CancelAsync(record.LoanReference, CancellationReasonKind.Other)).Record;

        Assert.Equal(first.CancelTime, again.CancelTime);
        Assert.Equal(CancellationReasonKind.LoanRejected, again.CancelReason);
        Assert.Single(_membership.EndRequests);
        Assert.Single(await _database.OutboxAsync(record.LoanReference), m => m.MessageType.EndsWith("KurEnrolmentCancelled", StringComparison.Ordinal));
    }

    [Theory, BothProviders]
    public async Task ACancellationInterruptedByMembershipEndsTheCoverageOnTheSameDayWhenRetried(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var record = await EnrolAsync();
        _membership.FailAfter.Add("end"); // the coverage is ended, the answer lost

        Assert.IsType<CancellationResult.MembershipUnavailable>(await CancelAsync(record.LoanReference));
        var waiting = Assert.Single(await _database.RecordsAsync(record.LoanReference));
        Assert.Equal(EnrolmentRecordState.Cancelling, waiting.State);
        Assert.DoesNotContain(await _database.OutboxAsync(record.LoanReference), m => m.MessageType.EndsWith("KurEnrolmentCancelled", StringComparison.Ordinal));

        _clock.Now = Noon.AddDays(1);
        var cancelled = Assert.IsType<CancellationResult.Cancelled>(await CancelAsync(record.LoanReference)).Record;

        Assert.Equal(EnrolmentRecordState.Cancelled, cancelled.State);
        Assert.All(_membership.EndRequests, r => Assert.Equal(new Date { Year = 2026, Month = 11, Day = 20 }, r.EndDate));
        Assert.Equal(Noon, cancelled.CancelTime);
    }

    [Theory, BothProviders]
    public async Task AnEnrolmentThatNeverCompletedCannotBeCancelledUntilItIsRetried(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        _membership.FailBefore.Add("enrol");
        var command = Command();
        await _database.Enrolment(_membership, _clock).EnrolAsync(command, CancellationToken.None);

        Assert.IsType<CancellationResult.EnrolmentIncomplete>(await CancelAsync(command.LoanReference));
        Assert.IsType<CancellationResult.NotFound>(await CancelAsync("SIKP-UNKNOWN"));
    }

    private async Task<KurEnrolmentRecord> EnrolAsync()
    {
        var result = await _database.Enrolment(_membership, _clock).EnrolAsync(Command(), CancellationToken.None);
        return Assert.IsType<EnrolmentResult.Answered>(result).Record;
    }

    private Task<CancellationResult> CancelAsync(string loanReference, CancellationReasonKind reason = CancellationReasonKind.LoanRejected) =>
        _database.Cancellation(_membership, _clock).CancelAsync(new CancellationCommand("002", loanReference, reason, "bank-bri", "correlation-2"), CancellationToken.None);

    private static EnrolmentCommand Command() => new(
        "002", TestData.NewLoanReference(), LoanScheme.Mikro, 50_000_000, Disbursement,
        new BorrowerDetails(Nik.Parse("3374011508900001"), "Siti Rahayu", TestData.BirthDate, DomainSex.Male, "47111", "3374", 3_000_000),
        "bank-bri", "correlation-1");
}
