using Verification.Domain;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Platform.Outbox;

namespace Verification.Kur.Tests.Support;

/// <summary>Claims at bank 002 and the PostgreSQL store's writes of them, for tests that drive the store's statements directly.</summary>
internal static class StoreWrites
{
    public static readonly DateTimeOffset Noon = new(2026, 11, 20, 5, 0, 0, TimeSpan.Zero);

    /// <summary>An unanswered claim for a loan of its own (or the one given) at bank 002, created at noon on 20 November 2026.</summary>
    public static KurEnrolmentRecord Claim(string? loanReference = null) => new()
    {
        BankCode = "002",
        LoanReference = loanReference ?? "COALESCE-" + Guid.NewGuid().ToString("N")[..20],
        Scheme = LoanScheme.Mikro,
        LoanAmountRupiah = 50_000_000,
        DisbursementDate = new DateOnly(2026, 12, 1),
        MaskedNik = "3374••••••••0001",
        NikHmac = new byte[32],
        FullNameHmac = new byte[32],
        BirthDateHmac = new byte[32],
        Sex = Sex.Male,
        BusinessSector = "47111",
        RegionCode = "3374",
        DeclaredMonthlyIncomeRupiah = 3_000_000,
        Outcome = EnrolmentOutcomeKind.Enrolled,
        CoverageStartDate = new DateOnly(2026, 11, 20),
        State = EnrolmentRecordState.Active,
        CreateMemberCode = "bank-bri",
        CreateTime = Noon,
        CreateMonth = 202611,
    };

    /// <summary>The claim's insert, without an event.</summary>
    public static PostgresKurWrites.Write ClaimWrite(KurEnrolmentRecord claim) =>
        PostgresKurWrites.Write.For(claim.BankCode, claim.LoanReference, () => PostgresKurStore.ClaimStatement(claim, null), carriesEvent: false);

    /// <summary>The answer ENROLLED under <paramref name="participantNumber"/>, with an event naming the loan.</summary>
    public static PostgresKurWrites.Write AnswerWrite(KurEnrolmentRecord claim, string participantNumber)
    {
        new ClaimAnswer(EnrolmentOutcomeKind.Enrolled, "JKK,JKM", participantNumber, 36_800, new DateOnly(2026, 12, 15), Noon).ApplyTo(claim);
        var answered = new OutboxMessage { EventId = Guid.CreateVersion7(Noon), MessageType = "Test.Answered", Payload = $"{{\"loanReference\":\"{claim.LoanReference}\"}}", CreatedAt = Noon };
        return PostgresKurWrites.Write.For(claim.BankCode, claim.LoanReference, () => PostgresKurStore.AnswerStatement(claim, answered));
    }
}
