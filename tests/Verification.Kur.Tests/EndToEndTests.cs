using Google.Rpc;
using Verification.Api.Common.V1;
using Verification.Api.Kur.V1;
using Verification.Api.Membership.V1;
using Microsoft.Extensions.DependencyInjection;
using Verification.Kur.Data;
using Verification.Kur.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Tests;

/// <summary>One monolithic host (SQLite, in-memory bus) with Membership and KUR, shared by the tests of a class.</summary>
public sealed class MonolithicHostFixture : IAsyncLifetime
{
    public KurHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await KurHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>KUR through the wire with the real Membership, in monolithic mode (each test uses borrowers and loans of its own).</summary>
public sealed class EndToEndTests(MonolithicHostFixture fixture) : IClassFixture<MonolithicHostFixture>
{
    private KurHost Host => fixture.Host;

    [Fact]
    public void OnSqliteKurKeepsItsRecordsThroughEfCore()
    {
        using var scope = Host.Services.CreateScope();
        Assert.IsType<SqliteKurStore>(scope.ServiceProvider.GetRequiredService<KurStore>());
    }

    [Fact]
    public async Task ANewBorrowerIsEnrolledAndThenVerifiable()
    {
        var request = TestData.Request();

        var response = await Host.Kur().EnrolBorrowerAsync(request);

        Assert.Equal(EnrolmentOutcome.Enrolled, response.Outcome);
        Assert.Equal([Program.Jkk, Program.Jkm], response.Programs);
        Assert.Matches("^[0-9]{11}$", response.ParticipantNumber);
        Assert.Equal(36_800, response.MonthlyContributionRupiah); // BPU: 1 % of Rp3,000,000 + JKM Rp6,800
        var nextMonth = TestData.Today.AddMonths(1);
        Assert.Equal(new Date { Year = nextMonth.Year, Month = nextMonth.Month, Day = 15 }, response.FirstDueDate);

        var verified = await Host.Membership("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Borrower.Nik });
        Assert.True(verified.Covered);
        Assert.Equal(Segment.Bpu, verified.Segment);
        Assert.Equal([Program.Jkk, Program.Jkm], verified.ActivePrograms.Order());

        var participant = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        Assert.Equal(response.ParticipantNumber, participant.ParticipantNumber);
        AssertOneKurCoverage(participant);

        var record = (await Host.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference })).Enrolment;
        Assert.Equal(response.ParticipantNumber, record.ParticipantNumber);
        Assert.Equal(request.Borrower.Nik[..4] + "••••••••" + request.Borrower.Nik[12..], record.MaskedNik);
        Assert.Equal("bank-bri", record.CreateMemberCode);
        Assert.Equal(response.CreateTime, record.CreateTime);
        Assert.Equal(EnrolmentState.Active, record.State);

        await EventCollector.WaitForAsync(() => EventCollector.Enrolled.Any(e => e.LoanReference == request.LoanReference), "KurBorrowerEnrolled");
        var enrolled = Assert.Single(EventCollector.Enrolled, e => e.LoanReference == request.LoanReference);
        Assert.Equal(("ENROLLED", "002", "MIKRO", response.ParticipantNumber, "bank-bri", "kur"),
            (enrolled.Outcome, enrolled.BankCode, enrolled.Scheme, enrolled.ParticipantNumber, enrolled.ActingMember, enrolled.SourceModule));
    }

    [Fact]
    public async Task ACoveredBorrowerIsAlreadyCoveredAndNoCoverageIsStarted()
    {
        var request = TestData.Request();
        await CoverAsWageEarnerAsync(request.Borrower.Nik);

        var response = await Host.Kur().EnrolBorrowerAsync(request);

        Assert.Equal(EnrolmentOutcome.AlreadyCovered, response.Outcome);
        Assert.Equal([Program.Jkk, Program.Jkm, Program.Jht], response.Programs.Order());
        Assert.Equal("", response.ParticipantNumber);
        Assert.Equal(0, response.MonthlyContributionRupiah);
        var participant = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        Assert.All(participant.Coverages, c => Assert.Equal("11000001", c.EmployerNumber));
    }

    [Fact]
    public async Task FiftyConcurrentRetriesMakeOneEnrolmentAndOneParticipant()
    {
        var request = TestData.Request();
        var kur = Host.Kur();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => kur.EnrolBorrowerAsync(request).ResponseAsync));

        Assert.Single(responses.Distinct());
        Assert.Equal(EnrolmentOutcome.Enrolled, responses[0].Outcome);
        var participant = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        Assert.Equal(responses[0].ParticipantNumber, participant.ParticipantNumber);
        AssertOneKurCoverage(participant);
        var listed = await ListAsync(kur, TestData.Today, TestData.Today);
        Assert.Single(listed, e => e.LoanReference == request.LoanReference);
        await EventCollector.WaitForAsync(() => EventCollector.Enrolled.Any(e => e.LoanReference == request.LoanReference), "KurBorrowerEnrolled");
        await Task.Delay(300);
        Assert.Single(EventCollector.Enrolled, e => e.LoanReference == request.LoanReference);
    }

    [Fact]
    public async Task ARetryReturnsTheFirstAnswerUnchanged()
    {
        var request = TestData.Request();
        var first = await Host.Kur().EnrolBorrowerAsync(request);
        await Task.Delay(20);

        var again = await Host.Kur().EnrolBorrowerAsync(request);

        Assert.Equal(first, again);
    }

    [Fact]
    public async Task AConflictingRetryIsAlreadyExistsNamingTheFieldsNeverTheValues()
    {
        var request = TestData.Request();
        await Host.Kur().EnrolBorrowerAsync(request);
        var conflicting = request.Clone();
        conflicting.Borrower.FullName = "Siti Aminah";
        conflicting.Borrower.Nik = TestData.NewNik();
        conflicting.LoanAmountRupiah += 1;

        var ex = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => Host.Kur().EnrolBorrowerAsync(conflicting).ResponseAsync);

        Assert.Contains("loan_amount_rupiah, borrower.nik, borrower.full_name", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Aminah", ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(conflicting.Borrower.Nik, ex.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(request.Borrower.Nik, ex.Status.Detail, StringComparison.Ordinal);
        var info = ex.GetDetail<ErrorInfo>()!;
        Assert.Equal("LOAN_REFERENCE_REUSED", info.Reason);
        Assert.Equal("loan_amount_rupiah,borrower.nik,borrower.full_name", info.Metadata["fields"]);
        var verified = await Host.Membership("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = conflicting.Borrower.Nik });
        Assert.Equal(MembershipStatus.NotRegistered, verified.Status);
    }

    [Fact]
    public async Task ABankUsingAnotherBanksCodeIsDeniedAndTheDenialIsAudited()
    {
        var request = TestData.Request(bankCode: "009");

        var ex = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Kur("bank-bri").EnrolBorrowerAsync(request).ResponseAsync);

        Assert.Equal("BANK_CODE_NOT_OWN", ex.GetDetail<ErrorInfo>()!.Reason);
        await EventCollector.WaitForAsync(() => EventCollector.Denied.Any(d => d.LoanReference == request.LoanReference), "AccessDenied");
        var denied = Assert.Single(EventCollector.Denied, d => d.LoanReference == request.LoanReference);
        Assert.Equal(("bank-bri", "Bank", "/verification.kur.v1.KurService/EnrolBorrower"), (denied.MemberCode, denied.Role, denied.RpcMethod));
        Assert.Equal(("BANK_CODE_NOT_OWN", "009"), (denied.ReasonCode, denied.BankCode));
        Assert.DoesNotContain(request.Borrower.Nik, denied.Resource, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Host.Kur("bank-bni").GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference }).ResponseAsync);
        var verified = await Host.Membership("bank-bri").VerifyMembershipAsync(new VerifyMembershipRequest { Nik = request.Borrower.Nik });
        Assert.Equal(MembershipStatus.NotRegistered, verified.Status);
    }

    [Fact]
    public async Task OtherRolesMayNotCallKur()
    {
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Kur("kemnaker").EnrolBorrowerAsync(TestData.Request()).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Kur("internal-services").GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = "X" }).ResponseAsync);
    }

    [Theory]
    [InlineData(KurScheme.SuperMikro, 0, 10_000_000)]
    [InlineData(KurScheme.Mikro, 10_000_000, 100_000_000)]
    [InlineData(KurScheme.Kecil, 100_000_000, 500_000_000)]
    [InlineData(KurScheme.Pmi, 0, 100_000_000)]
    [InlineData(KurScheme.Khusus, 0, 500_000_000)]
    public async Task EverySchemeLendsUpToItsCeilingAndNotOneRupiahMore(KurScheme scheme, long floor, long ceiling)
    {
        var atCeiling = await Host.Kur().EnrolBorrowerAsync(TestData.Request(scheme: scheme, amount: ceiling));
        Assert.Equal(EnrolmentOutcome.Enrolled, atCeiling.Outcome);

        var over = TestData.Request(scheme: scheme, amount: ceiling + 1);
        Assert.Equal([("loan_amount_rupiah", "LOAN_AMOUNT_OVER_CEILING")], await RpcAssert.ViolationsAsync(() => Host.Kur().EnrolBorrowerAsync(over).ResponseAsync));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Host.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = over.LoanReference }).ResponseAsync);

        if (floor > 0)
        {
            Assert.Equal(EnrolmentOutcome.Enrolled, (await Host.Kur().EnrolBorrowerAsync(TestData.Request(scheme: scheme, amount: floor + 1))).Outcome);
            Assert.Equal([("loan_amount_rupiah", "LOAN_AMOUNT_UNDER_SCHEME")],
                await RpcAssert.ViolationsAsync(() => Host.Kur().EnrolBorrowerAsync(TestData.Request(scheme: scheme, amount: floor)).ResponseAsync));
        }
    }

    [Fact]
    public async Task AnInvalidRequestIsRejectedFieldByFieldAndNothingIsWritten()
    {
        var request = TestData.Request();
        request.Borrower.Nik = "3374011508900000";
        request.Borrower.RegionCode = "337";

        var violations = await RpcAssert.ViolationsAsync(() => Host.Kur().EnrolBorrowerAsync(request).ResponseAsync);

        Assert.Equal([("borrower.nik", "NIK_SERIAL_ZERO"), ("borrower.region_code", "REGION_CODE_INVALID")], violations);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Host.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference }).ResponseAsync);
    }

    [Fact]
    public async Task CancellingBeforeDisbursementEndsTheCoverageThisLoanStarted()
    {
        var request = TestData.Request();
        var enrolled = await Host.Kur().EnrolBorrowerAsync(request);

        var cancel = new CancelEnrolmentRequest { BankCode = "002", LoanReference = request.LoanReference, Reason = CancellationReason.LoanRejected };
        var response = await Host.Kur().CancelEnrolmentAsync(cancel);

        Assert.Equal([Program.Jkk, Program.Jkm], response.EndedPrograms);
        Assert.Equal(EnrolmentState.Cancelled, response.Enrolment.State);
        Assert.Equal(CancellationReason.LoanRejected, response.Enrolment.CancelReason);
        Assert.Equal("bank-bri", response.Enrolment.CancelMemberCode);
        var participant = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant;
        AssertOneKurCoverage(participant);
        // Cancelled on the day it began: the coverage is void, ending the day before it started (it never covered a day).
        Assert.All(participant.Coverages, c => Assert.Equal(TestData.ToApi(TestData.Today.AddDays(-1)), c.EndDate));
        Assert.All(participant.Coverages, c => Assert.Equal(CoverageEndReason.LoanCancelled, c.EndReason));
        Assert.Equal(enrolled.ParticipantNumber, response.Enrolment.ParticipantNumber);

        cancel.Reason = CancellationReason.Other;
        Assert.Equal(response, await Host.Kur().CancelEnrolmentAsync(cancel));
        await EventCollector.WaitForAsync(() => EventCollector.Cancelled.Any(e => e.LoanReference == request.LoanReference), "KurEnrolmentCancelled");
        var cancelled = Assert.Single(EventCollector.Cancelled, e => e.LoanReference == request.LoanReference);
        Assert.Equal(("002", enrolled.ParticipantNumber, "LOAN_REJECTED"), (cancelled.BankCode, cancelled.ParticipantNumber, cancelled.Reason));
    }

    [Fact]
    public async Task CancellingForAnAlreadyCoveredBorrowerEndsNothing()
    {
        var request = TestData.Request();
        await CoverAsWageEarnerAsync(request.Borrower.Nik);
        await Host.Kur().EnrolBorrowerAsync(request);

        var response = await Host.Kur().CancelEnrolmentAsync(new CancelEnrolmentRequest { BankCode = "002", LoanReference = request.LoanReference, Reason = CancellationReason.LoanWithdrawn });

        Assert.Empty(response.EndedPrograms);
        Assert.Equal(EnrolmentState.Cancelled, response.Enrolment.State);
        var coverages = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant.Coverages;
        Assert.NotEmpty(coverages);
        Assert.All(coverages, c => Assert.Null(c.EndDate));
    }

    [Fact]
    public async Task AfterDisbursementTheEnrolmentCannotBeCancelled()
    {
        var request = TestData.Request(disbursement: TestData.Today);
        await Host.Kur().EnrolBorrowerAsync(request);

        var ex = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Host.Kur().CancelEnrolmentAsync(
            new CancelEnrolmentRequest { BankCode = "002", LoanReference = request.LoanReference, Reason = CancellationReason.DataError }).ResponseAsync);

        Assert.Equal("LOAN_DISBURSED", ex.GetDetail<ErrorInfo>()!.Reason);
        var coverages = (await Host.Membership().GetParticipantAsync(new GetParticipantRequest { Nik = request.Borrower.Nik })).Participant.Coverages;
        Assert.NotEmpty(coverages);
        Assert.All(coverages, c => Assert.Null(c.EndDate));
        Assert.Equal(EnrolmentState.Active, (await Host.Kur().GetEnrolmentAsync(new GetEnrolmentRequest { LoanReference = request.LoanReference })).Enrolment.State);
    }

    /// <summary>Registers the borrower as a wage earner of the Kemnaker development employer, with JKK, JKM and JHT from today.</summary>
    private Task CoverAsWageEarnerAsync(string nik) => CoverAsWageEarnerAsync(Host, nik);

    internal static async Task CoverAsWageEarnerAsync(KurHost host, string nik)
    {
        var enrol = new EnrollParticipantRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString(),
            Nik = nik,
            FullName = "Siti Rahayu",
            BirthDate = TestData.ToApi(TestData.BirthDate),
            Sex = Sex.Male,
            Segment = Segment.Pu,
            EmployerNumber = "11000001",
            MonthlyIncomeRupiah = 5_000_000,
            StartDate = TestData.ToApi(TestData.Today),
        };
        enrol.Programs.Add([Program.Jkk, Program.Jkm, Program.Jht]);
        await host.Membership().EnrollParticipantAsync(enrol);
    }

    /// <summary>The participant has exactly the KUR coverage one loan starts: JKK and JKM through bank 002, and nothing else.</summary>
    internal static void AssertOneKurCoverage(Participant participant)
    {
        Assert.Equal([Program.Jkk, Program.Jkm], participant.Coverages.Select(c => c.Program).Order());
        Assert.All(participant.Coverages, c => Assert.Equal((Api.Membership.V1.EnrolmentChannel.Kur, "002", Segment.Bpu), (c.Channel, c.ChannelReference, c.Segment)));
    }

    internal static async Task<List<KurEnrolment>> ListAsync(KurService.KurServiceClient kur, DateOnly first, DateOnly last, string bankCode = "")
    {
        using var call = kur.ListEnrolments(new ListEnrolmentsRequest
        {
            BankCode = bankCode,
            CreateDateRange = new DateRange { StartDate = TestData.ToApi(first), EndDate = TestData.ToApi(last) },
        });
        var list = new List<KurEnrolment>();
        while (await call.ResponseStream.MoveNext()) list.Add(call.ResponseStream.Current.Enrolment);
        return list;
    }
}
