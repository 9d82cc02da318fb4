using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Platform.Outbox;
using Verification.Platform.Privacy;
using ApiDate = Verification.Api.Common.V1.Date;
using ApiProgram = Verification.Api.Common.V1.Program;
using ApiSegment = Verification.Api.Common.V1.Segment;
using ApiSex = Verification.Api.Common.V1.Sex;

namespace Verification.Kur.Features.Enrol;

/// <summary>The borrower as the bank's loan file knows them, validated.</summary>
public sealed record BorrowerDetails(
    Nik Nik,
    string FullName,
    DateOnly BirthDate,
    Sex Sex,
    string BusinessSector,
    string RegionCode,
    long DeclaredMonthlyIncomeRupiah);

/// <summary>A validated EnrolBorrower request of one bank member.</summary>
public sealed record EnrolmentCommand(
    string BankCode,
    string LoanReference,
    LoanScheme Scheme,
    long LoanAmountRupiah,
    DateOnly DisbursementDate,
    BorrowerDetails Borrower,
    string MemberCode,
    string CorrelationId);

/// <summary>How an enrolment request ended.</summary>
public abstract record EnrolmentResult
{
    /// <summary>The recorded answer: the first one, whichever request produced it.</summary>
    public sealed record Answered(KurEnrolmentRecord Record) : EnrolmentResult;

    /// <summary>The loan reference was used with other data; the differing field paths, never their values.</summary>
    public sealed record Conflict(IReadOnlyList<string> DifferingFields) : EnrolmentResult;

    /// <summary>Membership could not be reached or did not answer in time; a retry resumes where this one stopped.</summary>
    public sealed record MembershipUnavailable : EnrolmentResult;

    /// <summary>Membership refused the borrower's data (rules stricter than ours); nothing is left written.</summary>
    public sealed record Refused(IReadOnlyList<(string Field, string Reason, string Description)> Violations) : EnrolmentResult;
}

/// <summary>
/// Checks a borrower against the registry and enrols them as BPU (JKK + JKM) when not covered, once per
/// (bank code, loan reference), so that nothing is ever half-done.
/// </summary>
/// <remarks>
/// <para>Order of operations. (1) A row for the key is looked up: a retry of a recorded request gets the stored
/// answer, a retry with other data ALREADY_EXISTS. (2) Meanwhile VerifyMembership, which writes nothing. (3a) Covered: the
/// ALREADY_COVERED record and its event are inserted in one transaction; Membership was not changed. (3b) Not covered:
/// a claim row is inserted (no answer yet, invisible to Get, List and the report) holding the decision to enrol and
/// the coverage start date. (4) EnrollParticipant with a key derived from (bank code, loan reference), so any number
/// of repeats start one coverage and get one answer, with the contribution quote in it (QuoteContribution is asked
/// only of a Membership that answers without one). (5) The claim becomes the ENROLLED record
/// and its event commits with it, in one transaction; only then does the bank see ENROLLED.</para>
/// <para>So no enrolment record exists without its participant (a record is only ever completed from Membership's
/// answer), and a participant that Membership registered for a loan always has that loan's record once the bank has
/// seen ENROLLED. If Membership fails at (2) nothing was written; at (4) the claim stays, the bank gets UNAVAILABLE
/// with RetryInfo, and its retry finds the claim and resumes at (4) with the same key and the same start date rather
/// than verifying again, which would mistake the coverage this loan started for earlier coverage. Concurrent retries
/// race on the primary key: one inserts the claim, the others resume it, and the conditional completion lets exactly
/// one of them record the answer and the event; everyone returns the recorded answer.</para>
/// </remarks>
public sealed partial class BorrowerEnrolment(
    KurStore store,
    IMembershipRegistry membership,
    BorrowerFingerprint fingerprint,
    NikSealer nikSealer,
    KurReferenceData referenceData,
    TimeProvider time,
    ILogger<BorrowerEnrolment> logger)
{
    public const string SourceModule = "kur";

    /// <summary>What KUR enrols a borrower in: BPU with JKK and JKM (Inpres 2/2021); JHT stays the borrower's choice.</summary>
    public static readonly IReadOnlyList<ApiProgram> KurPrograms = [ApiProgram.Jkk, ApiProgram.Jkm];

    public async Task<EnrolmentResult> EnrolAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        // The lookup and the verification (which writes nothing) run together: a new borrower waits for one, not both.
        var verifying = VerifyAsync(command, cancellationToken);
        KurEnrolmentRecord? existing;
        try
        {
            existing = await store.FindAsync(command.BankCode, command.LoanReference, cancellationToken);
        }
        catch
        {
            Abandon(verifying);
            throw;
        }

        if (existing is not null)
        {
            // A retry: the row decides, whatever Membership says or whether it answers at all.
            Abandon(verifying);
            return await ContinueAsync(existing, command, cancellationToken);
        }

        if (await verifying is not { } verified) return new EnrolmentResult.MembershipUnavailable();

        var now = time.RecordNow();
        var record = NewRecord(command, now);
        OutboxMessage? answered = null;
        if (verified.Covered)
        {
            // Membership is not changed for a covered borrower, so the record and its answer are written at once.
            var answer = new ClaimAnswer(EnrolmentOutcomeKind.AlreadyCovered, ProgramCodes.Join(verified.ActivePrograms), null, null, null, now);
            answer.ApplyTo(record);
            answered = EnrolledEvent(record, answer, command);
        }
        else
        {
            record.Outcome = EnrolmentOutcomeKind.Enrolled;
            record.CoverageStartDate = WibCalendar.DayOf(now);
        }

        if (!await store.TryInsertAsync(record, answered, cancellationToken))
        {
            // A concurrent request with this key inserted first: its row decides.
            existing = await store.FindAsync(command.BankCode, command.LoanReference, cancellationToken)
                ?? throw new InvalidOperationException("An enrolment conflicted on a key that no committed row holds.");
            return await ContinueAsync(existing, command, cancellationToken);
        }

        return record.RecordedAt is null
            ? await EnrolInMembershipAsync(record, command, cancellationToken)
            : new EnrolmentResult.Answered(record);
    }

    /// <summary>The key under which Membership deduplicates this loan's enrolment: one loan, one coverage, whatever the retries.</summary>
    public static string MembershipIdempotencyKey(string bankCode, string loanReference) => $"kur:{bankCode}:{loanReference}";

    /// <summary>The request fields that differ from the stored first request, as proto field paths.</summary>
    public IReadOnlyList<string> DifferingFields(KurEnrolmentRecord stored, EnrolmentCommand command)
    {
        var fields = new List<string>();
        var borrower = command.Borrower;
        if (stored.Scheme != command.Scheme) fields.Add("scheme");
        if (stored.LoanAmountRupiah != command.LoanAmountRupiah) fields.Add("loan_amount_rupiah");
        if (stored.DisbursementDate != command.DisbursementDate) fields.Add("disbursement_date");
        if (!stored.NikHmac.AsSpan().SequenceEqual(fingerprint.Of(NikField, borrower.Nik.RevealDigits()))) fields.Add(NikField);
        if (!stored.FullNameHmac.AsSpan().SequenceEqual(fingerprint.Of(FullNameField, borrower.FullName))) fields.Add(FullNameField);
        if (!stored.BirthDateHmac.AsSpan().SequenceEqual(fingerprint.Of(BirthDateField, IsoDate(borrower.BirthDate)))) fields.Add(BirthDateField);
        if (stored.Sex != borrower.Sex) fields.Add("borrower.sex");
        if (stored.BusinessSector != borrower.BusinessSector) fields.Add("borrower.business_sector");
        if (stored.RegionCode != borrower.RegionCode) fields.Add("borrower.region_code");
        if (stored.DeclaredMonthlyIncomeRupiah != borrower.DeclaredMonthlyIncomeRupiah) fields.Add("borrower.declared_monthly_income_rupiah");
        return fields;
    }

    private const string NikField = "borrower.nik";
    private const string FullNameField = "borrower.full_name";
    private const string BirthDateField = "borrower.birth_date";

    /// <summary>VerifyMembership; null when Membership is unavailable.</summary>
    private async Task<VerifyMembershipResponse?> VerifyAsync(EnrolmentCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await membership.VerifyAsync(new VerifyMembershipRequest { Nik = command.Borrower.Nik.RevealDigits() }, cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, "VerifyMembership", ex.StatusCode, command.BankCode, command.LoanReference);
            return null;
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("VerifyMembership", ex);
        }
    }

    private async Task<EnrolmentResult> ContinueAsync(KurEnrolmentRecord existing, EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var differing = DifferingFields(existing, command);
        if (differing.Count > 0) return new EnrolmentResult.Conflict(differing);
        if (existing.RecordedAt is not null) return new EnrolmentResult.Answered(existing);
        // A claim without an answer: an earlier request decided to enrol and may have reached Membership. Resume it.
        return await EnrolInMembershipAsync(existing, command, cancellationToken);
    }

    private async Task<EnrolmentResult> EnrolInMembershipAsync(KurEnrolmentRecord claim, EnrolmentCommand command, CancellationToken cancellationToken)
    {
        var startDate = claim.CoverageStartDate ?? throw new InvalidOperationException("A claim to enrol has no coverage start date.");
        var borrower = command.Borrower;
        var enrol = new EnrollParticipantRequest
        {
            IdempotencyKey = MembershipIdempotencyKey(claim.BankCode, claim.LoanReference),
            Nik = borrower.Nik.RevealDigits(),
            FullName = borrower.FullName,
            BirthDate = ToApi(borrower.BirthDate),
            Sex = borrower.Sex == Sex.Female ? ApiSex.Female : ApiSex.Male,
            Segment = ApiSegment.Bpu,
            Channel = EnrolmentChannel.Kur,
            ChannelReference = claim.BankCode,
            MonthlyIncomeRupiah = borrower.DeclaredMonthlyIncomeRupiah,
            StartDate = ToApi(startDate),
        };
        enrol.Programs.Add(KurPrograms);

        EnrollParticipantResponse enrolled;
        try
        {
            enrolled = await membership.EnrolAsync(enrol, cancellationToken);
        }
        catch (RpcException failure) when (MembershipRegistry.IsTransient(failure))
        {
            // The claim stays: the bank's retry resumes here with the same key, and Membership answers it once.
            Log.MembershipUnavailable(logger, "EnrollParticipant", failure.StatusCode, claim.BankCode, claim.LoanReference);
            return new EnrolmentResult.MembershipUnavailable();
        }
        catch (RpcException refusal) when (refusal.StatusCode == StatusCode.InvalidArgument)
        {
            // Membership wrote nothing; neither do we, so the bank can correct the data under the same loan reference.
            await store.ReleaseClaimAsync(claim, CancellationToken.None);
            return new EnrolmentResult.Refused(MembershipViolations(refusal));
        }
        catch (RpcException unexpected)
        {
            throw MembershipRegistry.Unexpected("EnrollParticipant", unexpected);
        }

        // Membership answers a BPU enrolment with its quote; one that does not (an older version) is asked for it.
        var quoted = enrolled.ContributionQuote;
        if (quoted is null && enrolled.Outcome != EnrollOutcome.AlreadyCovered)
        {
            try
            {
                quoted = await membership.QuoteAsync(Quote(borrower, startDate), cancellationToken);
            }
            catch (RpcException failure) when (MembershipRegistry.IsTransient(failure))
            {
                // The claim stays: the retry asks for the enrolment again under its key, which answers without a change.
                Log.MembershipUnavailable(logger, "QuoteContribution", failure.StatusCode, claim.BankCode, claim.LoanReference);
                return new EnrolmentResult.MembershipUnavailable();
            }
            catch (RpcException unexpected)
            {
                throw MembershipRegistry.Unexpected("QuoteContribution", unexpected);
            }
        }

        var now = time.RecordNow();
        // ALREADY_COVERED discloses no participant number (the verification answer would not have either).
        var answer = enrolled.Outcome == EnrollOutcome.AlreadyCovered
            ? new ClaimAnswer(EnrolmentOutcomeKind.AlreadyCovered, ProgramCodes.Join(enrolled.ActivePrograms), null, null, null, now)
            : new ClaimAnswer(EnrolmentOutcomeKind.Enrolled, ProgramCodes.Join(enrolled.StartedPrograms), enrolled.ParticipantNumber, quoted!.TotalRupiah,
                referenceData.FirstDueDate("BPU", startDate), now);

        // Not cancellable: Membership has answered, so the record must catch up even if the bank has gone away.
        if (await store.TryAnswerAsync(claim, answer, EnrolledEvent(claim, answer, command), CancellationToken.None))
            return new EnrolmentResult.Answered(claim);

        // A concurrent retry recorded the answer first: return that one, unchanged.
        var recorded = await store.FindAsync(claim.BankCode, claim.LoanReference, CancellationToken.None);
        return recorded is { RecordedAt: not null }
            ? new EnrolmentResult.Answered(recorded)
            : throw new InvalidOperationException("An enrolment claim vanished while it was being completed.");
    }

    /// <summary>Lets a call run out unawaited, its failure observed rather than raised as unobserved.</summary>
    private static void Abandon(Task task) => task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>What KUR asks for: BPU with JKK and JKM on the declared income, from the first day of the coverage's month.</summary>
    private static QuoteContributionRequest Quote(BorrowerDetails borrower, DateOnly startDate)
    {
        var quote = new QuoteContributionRequest
        {
            Segment = ApiSegment.Bpu,
            MonthlyIncomeRupiah = borrower.DeclaredMonthlyIncomeRupiah,
            EffectiveDate = ToApi(new DateOnly(startDate.Year, startDate.Month, 1)),
        };
        quote.Programs.Add(KurPrograms);
        return quote;
    }

    private KurEnrolmentRecord NewRecord(EnrolmentCommand command, DateTimeOffset now)
    {
        var borrower = command.Borrower;
        return new KurEnrolmentRecord
        {
            BankCode = command.BankCode,
            LoanReference = command.LoanReference,
            Scheme = command.Scheme,
            LoanAmountRupiah = command.LoanAmountRupiah,
            DisbursementDate = command.DisbursementDate,
            MaskedNik = borrower.Nik.Mask(),
            NikHmac = fingerprint.Of(NikField, borrower.Nik.RevealDigits()),
            FullNameHmac = fingerprint.Of(FullNameField, borrower.FullName),
            BirthDateHmac = fingerprint.Of(BirthDateField, IsoDate(borrower.BirthDate)),
            Sex = borrower.Sex,
            BusinessSector = borrower.BusinessSector,
            RegionCode = borrower.RegionCode,
            DeclaredMonthlyIncomeRupiah = borrower.DeclaredMonthlyIncomeRupiah,
            State = EnrolmentRecordState.Active,
            CreateMemberCode = command.MemberCode,
            CreateTime = now,
            CreateMonth = WibCalendar.MonthKey(WibCalendar.DayOf(now)),
        };
    }

    /// <summary>The outbox row of the event that the loan's answer was recorded.</summary>
    private OutboxMessage EnrolledEvent(KurEnrolmentRecord loan, ClaimAnswer answer, EnrolmentCommand command)
    {
        var eventId = Guid.CreateVersion7(answer.RecordedAt);
        return OutboxDbContextExtensions.NewOutboxMessage(new KurBorrowerEnrolled(
            eventId, answer.RecordedAt, command.CorrelationId, command.MemberCode, SourceModule,
            StoredNames.Of(answer.Outcome), loan.BankCode, StoredNames.Of(loan.Scheme), loan.LoanReference,
            answer.ParticipantNumber, nikSealer.Seal(command.Borrower.Nik.RevealDigits(), eventId), command.Borrower.Nik.Mask()));
    }

    /// <summary>Membership's field paths in terms of this API's request, so the bank sees its own fields.</summary>
    private static List<(string Field, string Reason, string Description)> MembershipViolations(RpcException exception)
    {
        var violations = new List<(string, string, string)>();
        var badRequest = exception.GetDetail<Google.Rpc.BadRequest>();
        foreach (var violation in badRequest?.FieldViolations ?? [])
        {
            var field = violation.Field switch
            {
                "nik" => "borrower.nik",
                "full_name" => "borrower.full_name",
                "birth_date" => "borrower.birth_date",
                "sex" => "borrower.sex",
                "monthly_income_rupiah" => "borrower.declared_monthly_income_rupiah",
                _ => "borrower",
            };
            violations.Add((field, violation.Reason, violation.Description));
        }

        if (violations.Count == 0) violations.Add(("borrower", "BORROWER_REFUSED", "The registry refused the borrower's data."));
        return violations;
    }

    private static string IsoDate(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static ApiDate ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static partial class Log
    {
        [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Membership unavailable during {Call} ({Status}) for bank {BankCode} loan {LoanReference}; the bank was told to retry")]
        public static partial void MembershipUnavailable(ILogger logger, string call, StatusCode status, string bankCode, string loanReference);
    }
}
