using Microsoft.EntityFrameworkCore;
using Verification.Domain;
using Microsoft.Extensions.Logging;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.Kur.Data;
using Verification.Kur.Domain;
using Verification.Kur.Features.Enrol;
using Verification.Platform.Data;
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
    KurDbContext db,
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
            var gate = await db.EnterWriteGateAsync(cancellationToken);
            try
            {
                await db.Enrolments
                    .Where(e => e.BankCode == record.BankCode && e.LoanReference == record.LoanReference && e.State == EnrolmentRecordState.Active)
                    .ExecuteUpdateAsync(set => set
                        .SetProperty(e => e.State, EnrolmentRecordState.Cancelling)
                        .SetProperty(e => e.CancelReason, command.Reason)
                        .SetProperty(e => e.CancelMemberCode, command.MemberCode)
                        .SetProperty(e => e.CancelTime, now)
                        .SetProperty(e => e.CancelEndDate, today),
                        cancellationToken);
            }
            finally
            {
                gate?.Release();
            }

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
        var member = record.CancelMemberCode ?? command.MemberCode;
        var gate = await db.EnterWriteGateAsync(cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var finished = await db.Enrolments
                .Where(e => e.BankCode == record.BankCode && e.LoanReference == record.LoanReference && e.State == from)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(e => e.State, EnrolmentRecordState.Cancelled)
                    .SetProperty(e => e.CancelReason, reason)
                    .SetProperty(e => e.CancelMemberCode, member)
                    .SetProperty(e => e.CancelTime, cancelTime)
                    .SetProperty(e => e.CancelEndDate, endDate)
                    .SetProperty(e => e.EndedPrograms, endedPrograms),
                    cancellationToken);
            if (finished == 1)
            {
                var now = time.RecordNow();
                db.AddOutboxEvent(new KurEnrolmentCancelled(
                    Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, BorrowerEnrolment.SourceModule,
                    record.BankCode, record.LoanReference, record.ParticipantNumber, StoredNames.Of(reason)));
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            else
            {
                await transaction.RollbackAsync(cancellationToken);
            }
        }
        finally
        {
            db.ChangeTracker.Clear();
            gate?.Release();
        }

        var cancelled = await FindAsync(command, CancellationToken.None);
        return cancelled is { State: EnrolmentRecordState.Cancelled }
            ? new CancellationResult.Cancelled(cancelled)
            : throw new InvalidOperationException("An enrolment record left the cancellation in an unexpected state.");
    }

    private Task<KurEnrolmentRecord?> FindAsync(CancellationCommand command, CancellationToken cancellationToken) =>
        db.Enrolments.AsNoTracking().SingleOrDefaultAsync(e => e.BankCode == command.BankCode && e.LoanReference == command.LoanReference, cancellationToken);

    private static partial class Log
    {
        [LoggerMessage(EventId = 5302, Level = LogLevel.Warning, Message = "Membership unavailable during EndCoverage ({Status}) for bank {BankCode} loan {LoanReference}; the bank was told to retry")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, string bankCode, string loanReference);
    }
}
