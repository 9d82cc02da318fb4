using Verification.Domain;
using Microsoft.Extensions.Logging;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Enrol;
using Verification.Platform.Outbox;
using Grpc.Core;
using ApiDate = Verification.Api.Common.V1.Date;

namespace Verification.Kur.Features.Cancel;

/// <summary>A validated CancelEnrolment request of one bank member.</summary>
public sealed record CancellationCommand(string BankCode, string LoanReference, CancellationReasonKind Reason, string MemberCode, string CorrelationId);

/// <summary>How a cancellation request ended.</summary>
public abstract record CancellationResult
{
    /// <summary>The cancelled record (the first cancellation's answer on a repeat).</summary>
    public sealed record Cancelled(KurEnrolmentRecord Record) : CancellationResult;

    public sealed record NotFound : CancellationResult;

    /// <summary>The enrolment request of this loan never completed (Membership was unavailable); retry it first.</summary>
    public sealed record EnrolmentIncomplete : CancellationResult;

    /// <summary>The loan is disbursed (today is on or after the disbursement date): the enrolment stays.</summary>
    public sealed record AlreadyDisbursed : CancellationResult;

    public sealed record MembershipUnavailable : CancellationResult;
}

/// <summary>
/// Cancels an enrolment before disbursement, ending the coverage that this loan started (none for a borrower who was
/// already covered). The end date is fixed on the record before Membership is asked, so that a retry after a failure
/// asks for the same end and EndCoverage answers it idempotently; the record turns CANCELLED, with its event, only
/// after Membership has ended the coverage.
/// </summary>
public sealed partial class EnrolmentCancellation(
    KurStore store,
    IMembershipRegistry membership,
    TimeProvider time,
    ILogger<EnrolmentCancellation> logger)
{
    public async Task<CancellationResult> CancelAsync(CancellationCommand command, CancellationToken cancellationToken)
    {
        var record = await FindAsync(command, cancellationToken);
        if (record is null) return new CancellationResult.NotFound();
        if (record.RecordedAt is null) return new CancellationResult.EnrolmentIncomplete();
        if (record.State == EnrolmentRecordState.Cancelled) return new CancellationResult.Cancelled(record);

        if (record.State == EnrolmentRecordState.Active)
        {
            var now = time.RecordNow();
            var today = WibCalendar.DayOf(now);
            if (today >= record.DisbursementDate) return new CancellationResult.AlreadyDisbursed();
            if (record.Outcome == EnrolmentOutcomeKind.AlreadyCovered)
                return await FinishAsync(command, record, EnrolmentRecordState.Active, now, today, "", cancellationToken);

            // Fix who, why and the end date first: whatever happens next, a retry ends the same coverage on the same day.
            await store.StartCancellationAsync(record, new CancellationTerms(command.Reason, command.MemberCode, now, today), cancellationToken);
            record = await FindAsync(command, cancellationToken) ?? throw new InvalidOperationException("An enrolment record vanished while it was being cancelled.");
            if (record.State == EnrolmentRecordState.Cancelled) return new CancellationResult.Cancelled(record);
        }

        return await EndCoverageAsync(command, record, cancellationToken);
    }

    private async Task<CancellationResult> EndCoverageAsync(CancellationCommand command, KurEnrolmentRecord record, CancellationToken cancellationToken)
    {
        var endDate = record.CancelEndDate ?? throw new InvalidOperationException("A cancellation in progress has no end date.");
        var request = new EndCoverageRequest
        {
            ParticipantNumber = record.ParticipantNumber ?? throw new InvalidOperationException("An ENROLLED record has no participant number."),
            Channel = EnrolmentChannel.Kur,
            ChannelReference = record.BankCode,
            EndDate = new ApiDate { Year = endDate.Year, Month = endDate.Month, Day = endDate.Day },
            Reason = CoverageEndReason.LoanCancelled,
        };
        request.Programs.Add(ProgramCodes.Split(record.Programs));

        EndCoverageResponse ended;
        try
        {
            ended = await membership.EndCoverageAsync(request, cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, ex.StatusCode, record.BankCode, record.LoanReference);
            return new CancellationResult.MembershipUnavailable();
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("EndCoverage", ex);
        }

        return await FinishAsync(command, record, EnrolmentRecordState.Cancelling, record.CancelTime ?? time.RecordNow(), endDate,
            ProgramCodes.Join(ended.EndedPrograms), CancellationToken.None);
    }

    /// <summary>Records the cancellation and its event in one transaction, unless a concurrent request did first.</summary>
    private async Task<CancellationResult> FinishAsync(
        CancellationCommand command, KurEnrolmentRecord record, EnrolmentRecordState from, DateTimeOffset cancelTime, DateOnly endDate,
        string endedPrograms, CancellationToken cancellationToken)
    {
        // The first request's reason and member are kept when this one resumes a cancellation in progress.
        var reason = record.CancelReason ?? command.Reason;
        var terms = new CancellationTerms(reason, record.CancelMemberCode ?? command.MemberCode, cancelTime, endDate);
        var now = time.RecordNow();
        var cancelledEvent = OutboxDbContextExtensions.NewOutboxMessage(new KurEnrolmentCancelled(
            Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, BorrowerEnrolment.SourceModule,
            record.BankCode, record.LoanReference, record.ParticipantNumber, StoredNames.Of(reason)));
        // A concurrent request may have finished first: the record read back decides.
        await store.TryFinishCancellationAsync(record, from, terms, endedPrograms, cancelledEvent, cancellationToken);

        var cancelled = await FindAsync(command, CancellationToken.None);
        return cancelled is { State: EnrolmentRecordState.Cancelled }
            ? new CancellationResult.Cancelled(cancelled)
            : throw new InvalidOperationException("An enrolment record left the cancellation in an unexpected state.");
    }

    private Task<KurEnrolmentRecord?> FindAsync(CancellationCommand command, CancellationToken cancellationToken) =>
        store.FindAsync(command.BankCode, command.LoanReference, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(EventId = 5302, Level = LogLevel.Warning, Message = "Membership unavailable during EndCoverage ({Status}) for bank {BankCode} loan {LoanReference}; the bank was told to retry")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, string bankCode, string loanReference);
    }
}
