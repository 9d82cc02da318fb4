using Microsoft.EntityFrameworkCore;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Tests.Support;
using Grpc.Core;
using Verification.Api;

namespace Verification.Membership.Tests;

/// <summary>Every validation rule of EnrollParticipant, a valid and an invalid case each, through the wire on SQLite.</summary>
public sealed class EnrolmentValidationTests(SqliteHostFixture fixture) : IClassFixture<SqliteHostFixture>
{
    private static int _serial;

    private MembershipHost Host => fixture.Host;

    /// <summary>The first 12 digits as given, then a serial no other test of this class uses.</summary>
    private static string Unique(string first12) => first12 + (9000 + Interlocked.Increment(ref _serial)).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<EnrollParticipantResponse> EnrolAsync(EnrollParticipantRequest request) =>
        await Host.Client("internal-services").EnrollParticipantAsync(request);

    private async Task<IReadOnlyList<(string Field, string Reason)>> RejectedAsync(EnrollParticipantRequest request)
    {
        var before = await CountsAsync();
        var violations = await RpcAssert.ViolationsAsync(() => EnrolAsync(request));
        Assert.Equal(before, await CountsAsync()); // nothing written
        return violations;
    }

    private Task<(int Participants, int Coverages, int Outbox, int Keys)> CountsAsync() => Host.QueryAsync(async db =>
        (await db.Participants.CountAsync(), await db.Coverages.CountAsync(), await db.OutboxMessages.CountAsync(), await db.IdempotencyRecords.CountAsync()));

    [Theory]
    [InlineData("", "NIK_MISSING")]
    [InlineData("337401150885001", "NIK_WRONG_LENGTH")]
    [InlineData("33740115088500123", "NIK_WRONG_LENGTH")]
    [InlineData("33740115088500a1", "NIK_NOT_DIGITS")]
    [InlineData("３３74011508850001", "NIK_NOT_DIGITS")] // full-width digits are not ASCII
    [InlineData("9974011508850001", "NIK_UNKNOWN_PROVINCE")]
    [InlineData("5474011508850001", "NIK_UNKNOWN_PROVINCE")] // Timor Timur's old code
    [InlineData("3300011508850001", "NIK_REGENCY_ZERO")]
    [InlineData("3374001508850001", "NIK_DISTRICT_ZERO")]
    [InlineData("3374013208850001", "NIK_BIRTH_DATE_INVALID")] // day 32
    [InlineData("3374017208850001", "NIK_BIRTH_DATE_INVALID")] // a woman's day 72 is day 32
    [InlineData("3374010008850001", "NIK_BIRTH_DATE_INVALID")] // day 0
    [InlineData("3374014008850001", "NIK_BIRTH_DATE_INVALID")] // a woman's day 40 is day 0
    [InlineData("3374011513850001", "NIK_BIRTH_DATE_INVALID")] // month 13
    [InlineData("3374012902010001", "NIK_BIRTH_DATE_INVALID")] // 29 February in 1901 and 2001: neither a leap year
    [InlineData("3374016902010001", "NIK_BIRTH_DATE_INVALID")] // the same for a woman (+40)
    [InlineData("3374013104900001", "NIK_BIRTH_DATE_INVALID")] // 31 April
    [InlineData("3374011508850000", "NIK_SERIAL_ZERO")]
    public async Task AStructurallyInvalidNikIsRejectedWithItsReasonAndNothingIsWritten(string nik, string reason)
    {
        var violations = await RejectedAsync(TestData.Bpu(nik));
        Assert.Equal([("nik", reason)], violations);
    }

    [Fact]
    public async Task ANikBreakingSeveralRulesGetsOneViolationPerRule()
    {
        var violations = await RejectedAsync(TestData.Bpu("9900003208850000"));
        Assert.Equal(
            ["NIK_UNKNOWN_PROVINCE", "NIK_REGENCY_ZERO", "NIK_DISTRICT_ZERO", "NIK_BIRTH_DATE_INVALID", "NIK_SERIAL_ZERO"],
            violations.Where(v => v.Field == "nik").Select(v => v.Reason));
    }

    [Theory]
    [InlineData("337401290200", 2000, 2, 29, false)] // 29 February 2000, a man
    [InlineData("337401690200", 2000, 2, 29, true)] // 29 February 2000, a woman (+40)
    [InlineData("337401711290", 1990, 12, 31, true)] // a woman's day 71 is 31 December
    [InlineData("337401010190", 1990, 1, 1, false)]
    [InlineData("967101150885", 1985, 8, 15, false)] // Papua Barat Daya, province 96
    public async Task AValidNikMatchingTheStatedBirthDateAndSexIsRegisteredWithoutWarnings(string first12, int year, int month, int day, bool female)
    {
        var request = TestData.Bpu(Unique(first12), new DateOnly(year, month, day), female);
        var response = await EnrolAsync(request);
        Assert.Equal(EnrollOutcome.Registered, response.Outcome);
        Assert.Empty(response.NikWarnings);
        Assert.True(Domain.ParticipantNumber.IsValid(response.ParticipantNumber));
    }

    [Fact]
    public async Task AWomansNikStatedAsAMansIsAcceptedWithASexWarningRecordedOnTheParticipant()
    {
        var request = TestData.Bpu(Unique("337401550885"), new DateOnly(1985, 8, 15), female: false);
        var response = await EnrolAsync(request);
        Assert.Equal(EnrollOutcome.Registered, response.Outcome);
        Assert.Equal([NikWarning.SexMismatch], response.NikWarnings);
        var participant = (await Host.Client("auditor-bpk").GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = response.ParticipantNumber })).Participant;
        Assert.Equal([NikWarning.SexMismatch], participant.NikWarnings);
        Assert.Equal(Sex.Male, participant.Sex); // as stated: the registry records the statement and the warning
    }

    [Fact]
    public async Task AMansNikStatedAsAWomansIsAcceptedWithASexWarning()
    {
        var request = TestData.Bpu(Unique("337401150885"), new DateOnly(1985, 8, 15), female: false);
        request.Sex = Sex.Female;
        var response = await EnrolAsync(request);
        Assert.Equal([NikWarning.SexMismatch], response.NikWarnings);
    }

    [Fact]
    public async Task ANikWhoseDateDiffersFromTheStatedBirthDateIsAcceptedWithADateWarningRecorded()
    {
        var request = TestData.Bpu(Unique("337401150885"), new DateOnly(1985, 8, 16));
        var response = await EnrolAsync(request);
        Assert.Equal(EnrollOutcome.Registered, response.Outcome);
        Assert.Equal([NikWarning.BirthDateMismatch], response.NikWarnings);
        var participant = (await Host.Client("internal-services").GetParticipantAsync(new GetParticipantRequest { Nik = request.Nik })).Participant;
        Assert.Equal([NikWarning.BirthDateMismatch], participant.NikWarnings);
        Assert.Equal(new Date { Year = 1985, Month = 8, Day = 16 }, participant.BirthDate);
    }

    [Fact]
    public async Task ANikOf29February2000AgreesWithThatBirthDateAndWarnsOnAnyOther()
    {
        // "00" is 1900 or 2000: 29 February is real in 2000 only, and a statement of 2000-02-29 agrees.
        var agrees = await EnrolAsync(TestData.Bpu(Unique("337401290200"), new DateOnly(2000, 2, 29)));
        Assert.Empty(agrees.NikWarnings);
        var differs = await EnrolAsync(TestData.Bpu(Unique("337401290200"), new DateOnly(2000, 2, 28)));
        Assert.Equal([NikWarning.BirthDateMismatch], differs.NikWarnings);
    }

    [Fact]
    public async Task ANameIsTrimmedAndMayHaveAHundredCharacters()
    {
        var request = TestData.Bpu();
        request.FullName = "  " + new string('a', 100) + " \u00a0";
        var response = await EnrolAsync(request);
        var participant = (await Host.Client("internal-services").GetParticipantAsync(new GetParticipantRequest { ParticipantNumber = response.ParticipantNumber })).Participant;
        Assert.Equal(new string('a', 100), participant.FullName);
    }

    [Theory]
    [InlineData("", "NAME_MISSING")]
    [InlineData("   \t ", "NAME_MISSING")]
    [InlineData("Budi\nSantoso", "NAME_CONTROL_CHARACTERS")]
    [InlineData("Budi\u0000Santoso", "NAME_CONTROL_CHARACTERS")]
    public async Task ABadNameIsRejected(string name, string reason)
    {
        var request = TestData.Bpu();
        request.FullName = name;
        Assert.Equal([("full_name", reason)], await RejectedAsync(request));
    }

    [Fact]
    public async Task ANameOfAHundredAndOneCharactersIsRejected()
    {
        var request = TestData.Bpu();
        request.FullName = new string('b', 101);
        Assert.Equal([("full_name", "NAME_TOO_LONG")], await RejectedAsync(request));
    }

    [Fact]
    public async Task DatesInTheFutureAreRejectedButTodayIsAccepted()
    {
        var today = TestData.Today;
        var ok = TestData.Bpu();
        ok.StartDate = today.ToApi();
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(ok)).Outcome);

        var request = TestData.Bpu();
        request.StartDate = today.AddDays(1).ToApi();
        Assert.Equal([("start_date", "DATE_IN_FUTURE")], await RejectedAsync(request));

        request = TestData.Bpu();
        request.BirthDate = today.AddDays(1).ToApi();
        Assert.Contains(("birth_date", "DATE_IN_FUTURE"), await RejectedAsync(request));
    }

    [Theory]
    [InlineData(2023, 2, 29, "DATE_INVALID")]
    [InlineData(2024, 13, 1, "DATE_INVALID")]
    [InlineData(2024, 4, 31, "DATE_INVALID")]
    [InlineData(0, 0, 0, "DATE_MISSING")]
    public async Task AStartDateThatIsNotARealDayIsRejected(int year, int month, int day, string reason)
    {
        var request = TestData.Bpu();
        request.StartDate = new Date { Year = year, Month = month, Day = day };
        Assert.Equal([("start_date", reason)], await RejectedAsync(request));
    }

    [Fact]
    public async Task AStartDateOn29FebruaryOfALeapYearIsAccepted()
    {
        var request = TestData.Bpu();
        request.StartDate = new Date { Year = 2024, Month = 2, Day = 29 };
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(request)).Outcome);
    }

    [Fact]
    public async Task AnEndDateBeforeTheStartIsRejectedAndOneAfterItIsKept()
    {
        var request = TestData.Bpu();
        request.EndDate = TestData.Today.AddYears(-2).ToApi();
        Assert.Equal([("end_date", "END_BEFORE_START")], await RejectedAsync(request));

        request = TestData.Bpu();
        request.EndDate = TestData.Today.AddYears(1).ToApi(); // a contract end may be in the future
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(request)).Outcome);
    }

    [Fact]
    public async Task AParticipantMustBeFifteenOnTheStartDate()
    {
        var start = TestData.Today.AddDays(-10);
        var fifteenToday = start.AddYears(-15);
        var request = TestData.Bpu(birthDate: fifteenToday);
        request.StartDate = start.ToApi();
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(request)).Outcome);

        request = TestData.Bpu(birthDate: fifteenToday.AddDays(1));
        request.StartDate = start.ToApi();
        Assert.Equal([("birth_date", "UNDER_MINIMUM_AGE")], await RejectedAsync(request));
    }

    [Fact]
    public async Task SomeoneBornOn29FebruaryIsFifteenOn28FebruaryOfACommonYear()
    {
        var born = new DateOnly(2008, 2, 29);
        var request = TestData.Bpu(birthDate: born);
        request.StartDate = new Date { Year = 2023, Month = 2, Day = 28 };
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(request)).Outcome);

        request = TestData.Bpu(birthDate: born);
        request.StartDate = new Date { Year = 2023, Month = 2, Day = 27 };
        Assert.Equal([("birth_date", "UNDER_MINIMUM_AGE")], await RejectedAsync(request));
    }

    [Fact]
    public async Task MoneyIsNonNegativeWholeRupiah()
    {
        var zero = TestData.Bpu();
        zero.MonthlyIncomeRupiah = 0;
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(zero)).Outcome);

        var negative = TestData.Bpu();
        negative.MonthlyIncomeRupiah = -1;
        Assert.Equal([("monthly_income_rupiah", "AMOUNT_NEGATIVE")], await RejectedAsync(negative));
    }

    [Fact]
    public async Task ProgramsMustBeGivenKnownOnceAndOfferedToTheSegment()
    {
        var empty = TestData.Bpu();
        empty.Programs.Clear();
        Assert.Equal([("programs", "PROGRAMS_EMPTY")], await RejectedAsync(empty));

        var duplicate = TestData.Bpu();
        duplicate.Programs.Add(Program.Jkk);
        Assert.Equal([("programs[2]", "PROGRAM_DUPLICATE")], await RejectedAsync(duplicate));

        var unknown = TestData.Bpu();
        unknown.Programs.Add((Program)42);
        Assert.Equal([("programs[2]", "PROGRAM_UNKNOWN")], await RejectedAsync(unknown));

        var pension = TestData.Bpu();
        pension.Programs.Add(Program.Jp); // BPU has no pension program
        Assert.Equal([("programs", "PROGRAM_NOT_AVAILABLE")], await RejectedAsync(pension));

        var withJht = TestData.Bpu();
        withJht.Programs.Add(Program.Jht);
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(withJht)).Outcome);
    }

    [Fact]
    public async Task SexSegmentAndIdempotencyKeyAreRequired()
    {
        var request = TestData.Bpu();
        request.Sex = Sex.Unspecified;
        request.Segment = Segment.Unspecified;
        request.IdempotencyKey = "";
        var violations = await RejectedAsync(request);
        Assert.Contains(("sex", "SEX_MISSING"), violations);
        Assert.Contains(("segment", "SEGMENT_MISSING"), violations);
        Assert.Contains(("idempotency_key", "IDEMPOTENCY_KEY_INVALID"), violations);

        var longKey = TestData.Bpu();
        longKey.IdempotencyKey = new string('k', 101);
        Assert.Equal([("idempotency_key", "IDEMPOTENCY_KEY_INVALID")], await RejectedAsync(longKey));
        longKey.IdempotencyKey = new string('k', 100);
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(longKey)).Outcome);
    }

    [Fact]
    public async Task TheSourceIsAnEmployerForPuAndAChannelWithItsReferenceForBpu()
    {
        var none = TestData.Bpu();
        none.ClearSource();
        none.ChannelReference = "";
        Assert.Equal([("source", "SOURCE_MISSING")], await RejectedAsync(none));

        var puByChannel = TestData.Pu();
        puByChannel.Channel = EnrolmentChannel.Kur;
        puByChannel.ChannelReference = "002";
        Assert.Equal([("employer_number", "EMPLOYER_NUMBER_REQUIRED")], await RejectedAsync(puByChannel));

        var bpuByEmployer = TestData.Bpu();
        bpuByEmployer.EmployerNumber = "11000001";
        bpuByEmployer.ChannelReference = "";
        Assert.Equal([("channel", "CHANNEL_REQUIRED")], await RejectedAsync(bpuByEmployer));

        var badBank = TestData.Bpu();
        badBank.ChannelReference = "2";
        Assert.Equal([("channel_reference", "CHANNEL_REFERENCE_INVALID")], await RejectedAsync(badBank));

        var referenceWithEmployer = TestData.Pu();
        referenceWithEmployer.ChannelReference = "002";
        Assert.Equal([("channel_reference", "CHANNEL_REFERENCE_UNEXPECTED")], await RejectedAsync(referenceWithEmployer));

        var badEmployer = TestData.Pu();
        badEmployer.EmployerNumber = "11-000001";
        Assert.Equal([("employer_number", "EMPLOYER_NUMBER_INVALID")], await RejectedAsync(badEmployer));

        var localGovernment = TestData.Bpu();
        localGovernment.Channel = EnrolmentChannel.LocalGovernment;
        localGovernment.ChannelReference = "7372";
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(localGovernment)).Outcome);
        Assert.Equal(EnrollOutcome.Registered, (await EnrolAsync(TestData.Pu())).Outcome);
    }

    [Fact]
    public async Task EveryProblemOfARequestIsReportedAtOnceAndNoErrorEchoesTheNik()
    {
        var request = TestData.Bpu("3374011508850000");
        request.FullName = "";
        request.MonthlyIncomeRupiah = -5;
        request.StartDate = new Date { Year = 2023, Month = 2, Day = 30 };
        var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, () => EnrolAsync(request));
        var fields = ex.GetDetail<Google.Rpc.BadRequest>()!.FieldViolations;
        Assert.Equal(["nik", "full_name", "monthly_income_rupiah", "start_date"], fields.Select(f => f.Field));
        Assert.DoesNotContain("3374011508850000", ex.Status.Detail);
        Assert.All(fields, f => Assert.DoesNotContain("3374011508850000", f.Description));
    }
}
