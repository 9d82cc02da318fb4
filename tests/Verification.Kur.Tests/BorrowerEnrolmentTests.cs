using Verification.Api.Common.V1;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Tests.Support;
using Verification.Platform.Data;
using Verification.Domain;
using Verification.Testing;
using DomainSex = Verification.Domain.Sex;

namespace Verification.Kur.Tests;

/// <summary>The enrolment feature against a Membership that fails on cue: the order of operations leaves nothing half-done.</summary>
public sealed class BorrowerEnrolmentTests(KurDatabases databases) : IClassFixture<KurDatabases>
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 20, 5, 0, 0, TimeSpan.Zero); // 12:00 WIB

    private readonly FakeMembership _membership = new();
    private readonly TestClock _clock = new(Noon);
    private KurDatabase _database = null!;

    /// <summary>The class's database on the theory's provider; each test enrols loans of its own.</summary>
    private async Task UseDatabaseAsync(DatabaseProvider provider) => _database = await databases.OnAsync(provider);

    [Theory, BothProviders]
    public async Task NewBorrowerIsEnrolledAndRecordedWithOneEvent(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        var result = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command));

        var record = result.Record;
        Assert.Equal(EnrolmentOutcomeKind.Enrolled, record.Outcome);
        Assert.Equal("JKK,JKM", record.Programs);
        Assert.Equal(11, record.ParticipantNumber!.Length);
        Assert.Equal(36_800, record.MonthlyContributionRupiah); // 1 % of Rp3,000,000 + Rp6,800
        Assert.Equal(new DateOnly(2026, 12, 15), record.FirstDueDate);
        Assert.NotNull(record.RecordedAt);
        Assert.Equal("3374••••••••0001", record.MaskedNik);
        Assert.Equal("bank-bri", record.CreateMemberCode);
        Assert.Equal(202611, record.CreateMonth);

        var enrol = Assert.Single(_membership.EnrolRequests);
        Assert.Equal("kur:002:" + command.LoanReference, enrol.IdempotencyKey);
        Assert.Equal(Segment.Bpu, enrol.Segment);
        Assert.Equal([Program.Jkk, Program.Jkm], enrol.Programs);
        Assert.Equal(Api.Membership.V1.EnrolmentChannel.Kur, enrol.Channel);
        Assert.Equal("002", enrol.ChannelReference);
        Assert.Equal(new Date { Year = 2026, Month = 11, Day = 20 }, enrol.StartDate);

        var message = Assert.Single(await _database.OutboxAsync(command.LoanReference));
        Assert.Equal("Verification.Contracts.Events.KurBorrowerEnrolled", message.MessageType);
        Assert.Contains("\"outcome\":\"ENROLLED\"", message.Payload, StringComparison.Ordinal);
        Assert.Contains("\"scheme\":\"MIKRO\"", message.Payload, StringComparison.Ordinal);
    }

    [Theory, BothProviders]
    public async Task AnEnrolmentAnsweredWithItsQuoteRecordsThatQuoteWithoutAskingForAnother(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        _membership.AnswersWithQuote = true;
        var command = Command();

        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(EnrolmentOutcomeKind.Enrolled, record.Outcome);
        Assert.Equal(36_802, record.MonthlyContributionRupiah); // the enrolment's quote (marked +2), not QuoteContribution's
        Assert.Equal(0, _membership.QuoteCalls);
        Assert.Single(_membership.EnrolRequests);
    }

    [Theory, BothProviders]
    public async Task CoveredBorrowerIsAlreadyCoveredAndMembershipIsNotChanged(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.Covered[command.Borrower.Nik.RevealDigits()] = [Program.Jkk, Program.Jkm, Program.Jht];

        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(EnrolmentOutcomeKind.AlreadyCovered, record.Outcome);
        Assert.Equal("JKK,JKM,JHT", record.Programs);
        Assert.Null(record.ParticipantNumber);
        Assert.Null(record.MonthlyContributionRupiah);
        Assert.Empty(_membership.EnrolRequests);
        var message = Assert.Single(await _database.OutboxAsync(command.LoanReference));
        Assert.Contains("\"outcome\":\"ALREADY_COVERED\"", message.Payload, StringComparison.Ordinal);
    }

    [Theory, BothProviders]
    public async Task ARetryOfARecordedRequestReturnsTheFirstAnswerWithoutEnrollingAgain(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        var first = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;
        _clock.Now = Noon.AddDays(3);

        var again = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(first.ParticipantNumber, again.ParticipantNumber);
        Assert.Equal(first.CreateTime, again.CreateTime);
        Assert.Equal(first.FirstDueDate, again.FirstDueDate);
        Assert.Single(_membership.EnrolRequests);
        Assert.Single(await _database.OutboxAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task ARetryOfARecordedRequestIsAnsweredWhileMembershipIsDown(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        var first = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;
        _membership.FailBefore.Add("verify");

        var again = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(first.ParticipantNumber, again.ParticipantNumber);
    }

    [Theory, BothProviders]
    public async Task MembershipDownAtVerificationWritesNothing(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.FailBefore.Add("verify");

        Assert.IsType<EnrolmentResult.MembershipUnavailable>(await EnrolAsync(command));

        Assert.Empty(await _database.RecordsAsync(command.LoanReference));
        Assert.Empty(await _database.OutboxAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task MembershipDownAtEnrolmentLeavesAnInvisibleClaimThatTheRetryResumesOnTheSameStartDate(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.FailBefore.Add("enrol");

        Assert.IsType<EnrolmentResult.MembershipUnavailable>(await EnrolAsync(command));

        var claim = Assert.Single(await _database.RecordsAsync(command.LoanReference));
        Assert.Null(claim.RecordedAt);
        Assert.Null(await _database.Reader().GetAsync("002", command.LoanReference, CancellationToken.None));
        Assert.DoesNotContain(await ToListAsync(_database.Reader().ListAsync("002", new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30))),
            r => r.LoanReference == command.LoanReference);
        Assert.Empty(await _database.OutboxAsync(command.LoanReference));

        _clock.Now = Noon.AddDays(1); // the bank retries the next day
        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(EnrolmentOutcomeKind.Enrolled, record.Outcome);
        Assert.All(_membership.EnrolRequests, r => Assert.Equal(new Date { Year = 2026, Month = 11, Day = 20 }, r.StartDate));
        Assert.Equal(Noon, record.CreateTime);
        Assert.Equal(1, _membership.Participants);
        Assert.Single(await _database.OutboxAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task AnEnrolmentWhoseAnswerWasLostIsRecordedAsEnrolledOnRetryNotAsAlreadyCovered(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.FailAfter.Add("enrol"); // Membership enrolled the borrower; the answer never reached KUR

        Assert.IsType<EnrolmentResult.MembershipUnavailable>(await EnrolAsync(command));
        Assert.Equal(1, _membership.Participants);

        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        // Verifying again would now find the coverage this very loan started; resuming the claim does not ask.
        Assert.Equal(EnrolmentOutcomeKind.Enrolled, record.Outcome);
        Assert.Equal("00000000001", record.ParticipantNumber);
        Assert.Equal(1, _membership.Participants);
        Assert.Equal(2, _membership.EnrolRequests.Count);
        Assert.Single(_membership.EnrolRequests.Select(r => r.IdempotencyKey).Distinct());
        Assert.Single(await _database.OutboxAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task AQuoteFailureAfterTheEnrolmentIsRetriedLikeAnyOther(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.FailBefore.Add("quote");

        Assert.IsType<EnrolmentResult.MembershipUnavailable>(await EnrolAsync(command));
        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;

        Assert.Equal(36_800, record.MonthlyContributionRupiah);
        Assert.Equal(1, _membership.Participants);
    }

    [Theory, BothProviders]
    public async Task ConcurrentRetriesMakeOneRecordOneParticipantAndOneEvent(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => EnrolAsync(command))));

        var numbers = results.Select(r => Assert.IsType<EnrolmentResult.Answered>(r).Record.ParticipantNumber).Distinct().ToList();
        Assert.Single(numbers);
        Assert.Single(results.Select(r => ((EnrolmentResult.Answered)r).Record.CreateTime).Distinct());
        Assert.Single(await _database.RecordsAsync(command.LoanReference));
        Assert.Equal(1, _membership.Participants);
        Assert.Single(await _database.OutboxAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task TheSameLoanReferenceWithOtherDataNamesTheDifferingFieldsOnly(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        await EnrolAsync(command);
        var other = command with
        {
            LoanAmountRupiah = command.LoanAmountRupiah + 1,
            Borrower = command.Borrower with { Nik = Nik.Parse("3374011508900002"), FullName = "Siti Aminah", DeclaredMonthlyIncomeRupiah = 1 },
        };

        var conflict = Assert.IsType<EnrolmentResult.Conflict>(await EnrolAsync(other));

        Assert.Equal(["loan_amount_rupiah", "borrower.nik", "borrower.full_name", "borrower.declared_monthly_income_rupiah"], conflict.DifferingFields);
        Assert.Single(await _database.RecordsAsync(command.LoanReference));
    }

    [Theory, BothProviders]
    public async Task ARetryWithOtherDataIsRefusedEvenWhileTheClaimWaitsForMembership(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.FailBefore.Add("enrol");
        await EnrolAsync(command);

        var conflict = Assert.IsType<EnrolmentResult.Conflict>(await EnrolAsync(command with { Borrower = command.Borrower with { Sex = DomainSex.Female } }));

        Assert.Equal(["borrower.sex"], conflict.DifferingFields);
    }

    [Theory, BothProviders]
    public async Task ARefusalByMembershipLeavesNothingSoTheBankCanCorrectTheData(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.RefuseEnrolField = "full_name";

        var refused = Assert.IsType<EnrolmentResult.Refused>(await EnrolAsync(command));

        Assert.Equal("borrower.full_name", Assert.Single(refused.Violations).Field);
        Assert.Empty(await _database.RecordsAsync(command.LoanReference));
        var corrected = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command with { Borrower = command.Borrower with { FullName = "Siti R." } }));
        Assert.Equal(EnrolmentOutcomeKind.Enrolled, corrected.Record.Outcome);
    }

    [Theory, BothProviders]
    public async Task AnUnexpectedRefusalAfterTheEnrolmentKeepsTheClaimSoTheRetryFindsTheSameParticipant(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        _membership.RefuseQuote = true;

        await Assert.ThrowsAsync<InvalidOperationException>(() => EnrolAsync(command));

        Assert.Null(Assert.Single(await _database.RecordsAsync(command.LoanReference)).RecordedAt);
        var record = Assert.IsType<EnrolmentResult.Answered>(await EnrolAsync(command)).Record;
        Assert.Equal("00000000001", record.ParticipantNumber);
        Assert.Equal(1, _membership.Participants);
    }

    [Theory, BothProviders]
    public async Task ABorrowerCoveredBetweenVerificationAndEnrolmentIsAlreadyCoveredWithoutParticipantNumber(DatabaseProvider provider)
    {
        await UseDatabaseAsync(provider);
        var command = Command();
        var nik = command.Borrower.Nik.RevealDigits();
        var membership = new CoveredAfterVerification(_membership, nik);

        var record = Assert.IsType<EnrolmentResult.Answered>(await _database.Enrolment(membership, _clock).EnrolAsync(command, CancellationToken.None)).Record;

        Assert.Equal(EnrolmentOutcomeKind.AlreadyCovered, record.Outcome);
        Assert.Null(record.ParticipantNumber);
        Assert.Equal("JKK,JKM,JHT", record.Programs);
    }

    private Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command) => _database.Enrolment(_membership, _clock).EnrolAsync(command, CancellationToken.None);

    private static EnrolmentCommand Command(string? loanReference = null) => new(
        "002", loanReference ?? TestData.NewLoanReference(), LoanScheme.Mikro, 50_000_000, new DateOnly(2026, 12, 20),
        new BorrowerDetails(Nik.Parse("3374011508900001"), "Siti Rahayu", TestData.BirthDate, DomainSex.Male, "47111", "3374", 3_000_000),
        "bank-bri", "correlation-1");

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }

    /// <summary>Another channel covers the borrower right after KUR's verification.</summary>
    private sealed class CoveredAfterVerification(FakeMembership inner, string nik) : Features.IMembershipRegistry
    {
        public async Task<Api.Membership.V1.VerifyMembershipResponse> VerifyAsync(Api.Membership.V1.VerifyMembershipRequest request, CancellationToken cancellationToken)
        {
            var answer = await inner.VerifyAsync(request, cancellationToken);
            inner.Covered[nik] = [Program.Jkk, Program.Jkm, Program.Jht];
            return answer;
        }

        public Task<Api.Membership.V1.EnrollParticipantResponse> EnrolAsync(Api.Membership.V1.EnrollParticipantRequest request, CancellationToken cancellationToken) => inner.EnrolAsync(request, cancellationToken);

        public Task<Api.Membership.V1.QuoteContributionResponse> QuoteAsync(Api.Membership.V1.QuoteContributionRequest request, CancellationToken cancellationToken) => inner.QuoteAsync(request, cancellationToken);

        public Task<Api.Membership.V1.EndCoverageResponse> EndCoverageAsync(Api.Membership.V1.EndCoverageRequest request, CancellationToken cancellationToken) => inner.EndCoverageAsync(request, cancellationToken);
    }
}
