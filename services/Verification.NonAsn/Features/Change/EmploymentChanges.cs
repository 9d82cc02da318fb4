using Verification.Domain;
using Microsoft.Extensions.Logging;
using Verification.Api.Membership.V1;
using Verification.Api;
using Verification.Contracts.Events;
using Verification.NonAsn.Data;
using Verification.NonAsn.Features.Register;
using Grpc.Core;
using ApiDate = Verification.Api.Common.V1.Date;

namespace Verification.NonAsn.Features.Change;

/// <summary>A validated UpdateEmployment: the employment's key and what to change (null: leave it).</summary>
public sealed record UpdateCommand(
    string EmployerNumber,
    string Nik,
    DateOnly ContractStartDate,
    long? MonthlyWage,
    DateOnly? WageEffectiveDate,
    DateOnly? ContractEndDate,
    string MemberCode,
    string CorrelationId);

/// <summary>A validated EndEmployment.</summary>
public sealed record EndCommand(string EmployerNumber, string Nik, DateOnly EndDate, EmploymentEndReasonKind Reason, string MemberCode, string CorrelationId);

/// <summary>How a change request ended.</summary>
public abstract record ChangeResult
{
    public sealed record Changed(EmploymentRecord Employment) : ChangeResult;

    public sealed record NotFound : ChangeResult;

    /// <summary>The employment's state forbids the change; the message says why (never personal data).</summary>
    public sealed record Precondition(string Message, string Reason) : ChangeResult;

    /// <summary>The request does not fit the employment (e.g. a date outside the contract).</summary>
    public sealed record Invalid(string Field, string Reason, string Description) : ChangeResult;

    public sealed record MembershipUnavailable : ChangeResult;
}

/// <summary>
/// Wage changes, contract extensions (or earlier ends) and ends of employment. Membership is told first (a contract
/// end moves the coverage's end; an end of employment ends the coverage this employment started), idempotently, and
/// then the employment and its event commit together: a failure in between leaves Membership ahead, and the retry
/// repeats the same idempotent call before recording.
/// </summary>
public sealed partial class EmploymentChanges(EmploymentStore employments, IMembershipRegistry membership, TimeProvider time, ILogger<EmploymentChanges> logger)
{
    public async Task<ChangeResult> UpdateAsync(UpdateCommand command, CancellationToken cancellationToken)
    {
        var record = await employments.GetAsync(new EmploymentKey(command.EmployerNumber, command.Nik, command.ContractStartDate), cancellationToken);
        if (record is null) return new ChangeResult.NotFound();
        if (record.State == EmploymentStateKind.Ended)
            return new ChangeResult.Precondition("The employment has ended; it can no longer be changed.", "EMPLOYMENT_ENDED");

        var newEnd = command.ContractEndDate ?? record.ContractEndDate;
        if (command.ContractEndDate is { } end && end < record.ContractStartDate)
            return new ChangeResult.Invalid("contract_end_date", "END_BEFORE_START", "The contract end cannot be before its start.");
        if (command.WageEffectiveDate is { } effective && (effective < record.ContractStartDate || (newEnd is { } last && effective > last)))
            return new ChangeResult.Invalid("wage_effective_date", "WAGE_EFFECTIVE_OUTSIDE_CONTRACT", "The new wage takes effect within the contract.");

        var wageChanged = command.MonthlyWage is { } wage && wage != record.MonthlyWage;
        var endChanged = command.ContractEndDate is not null && command.ContractEndDate != record.ContractEndDate;
        // Values already in place: nothing to do, no event.
        if (!wageChanged && !endChanged) return new ChangeResult.Changed(record);

        if (endChanged && ProgramCodes.Split(record.StartedPrograms) is { Count: > 0 } started)
        {
            var moved = await EndCoverageAsync(record, started, command.ContractEndDate!.Value, contractEndChange: true, reason: CoverageEndReason.Unspecified, cancellationToken);
            if (moved is not null) return moved;
        }

        var now = time.RecordNow();
        var read = record.UpdateTime;
        var previousWage = record.MonthlyWage;
        WageChangeRecord? wageChange = null;
        if (wageChanged)
        {
            record.MonthlyWage = command.MonthlyWage!.Value;
            wageChange = new WageChangeRecord { EmploymentId = record.EmploymentId, EffectiveDate = command.WageEffectiveDate!.Value, MonthlyWage = record.MonthlyWage, CreateTime = now };
        }

        record.ContractEndDate = newEnd;
        record.UpdateTime = now;
        var changed = new NonAsnWageChanged(
            Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, EmployeeRegistration.SourceModule, record.EmploymentId,
            record.EmployerNumber, record.ParticipantNumber, previousWage, record.MonthlyWage,
            WibCalendar.StartOf(command.WageEffectiveDate ?? time.JakartaToday()), newEnd is { } until ? WibCalendar.EndOf(until) : null);
        // Not cancellable: Membership may already have been told. A concurrent change got there first: decide again on the new state.
        return await employments.TryChangeAsync(record, read, wageChange, changed, CancellationToken.None)
            ? new ChangeResult.Changed(record)
            : await UpdateAsync(command, cancellationToken);
    }

    public async Task<ChangeResult> EndAsync(EndCommand command, CancellationToken cancellationToken)
    {
        var contracts = await employments.ContractsAsync(command.EmployerNumber, command.Nik, cancellationToken);
        var record = contracts.Where(e => e.State == EmploymentStateKind.Active).MaxBy(e => e.ContractStartDate);
        if (record is null)
        {
            // A repeat: the same end answers the same; another end date cannot rewrite an ended employment.
            var ended = contracts.Where(e => e.State == EmploymentStateKind.Ended).MaxBy(e => e.EndDate);
            if (ended is null) return new ChangeResult.NotFound();
            return ended.EndDate == command.EndDate
                ? new ChangeResult.Changed(ended)
                : new ChangeResult.Precondition("The employment already ended on another date.", "EMPLOYMENT_ALREADY_ENDED");
        }

        if (command.EndDate < record.ContractStartDate)
            return new ChangeResult.Invalid("end_date", "END_BEFORE_CONTRACT_START", "The end of employment cannot be before its contract start.");

        IReadOnlyList<Api.Common.V1.Program> endedPrograms = [];
        if (ProgramCodes.Split(record.StartedPrograms) is { Count: > 0 } started)
        {
            var response = await CallEndCoverageAsync(record, started, command.EndDate, contractEndChange: false, CoverageEndReason.EmploymentEnded, cancellationToken);
            if (response.Result is not null) return response.Result;
            endedPrograms = response.Ended;
        }

        var now = time.RecordNow();
        var read = record.UpdateTime;
        record.State = EmploymentStateKind.Ended;
        record.EndDate = command.EndDate;
        record.EndReason = command.Reason;
        record.EndedPrograms = ProgramCodes.Join(endedPrograms);
        record.UpdateTime = now;
        var employmentEnded = new NonAsnEmploymentEnded(
            Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, EmployeeRegistration.SourceModule, record.EmploymentId,
            record.EmployerNumber, record.ParticipantNumber, WibCalendar.EndOf(command.EndDate), StoredNames.Of(command.Reason));
        // Not cancellable: Membership has been told. A concurrent change got there first: decide again on the new state.
        return await employments.TryChangeAsync(record, read, wageChange: null, employmentEnded, CancellationToken.None)
            ? new ChangeResult.Changed(record)
            : await EndAsync(command, cancellationToken);
    }

    private async Task<ChangeResult?> EndCoverageAsync(
        EmploymentRecord record, IReadOnlyList<Api.Common.V1.Program> programs, DateOnly endDate, bool contractEndChange, CoverageEndReason reason, CancellationToken cancellationToken) =>
        (await CallEndCoverageAsync(record, programs, endDate, contractEndChange, reason, cancellationToken)).Result;

    private async Task<(ChangeResult? Result, IReadOnlyList<Api.Common.V1.Program> Ended)> CallEndCoverageAsync(
        EmploymentRecord record, IReadOnlyList<Api.Common.V1.Program> programs, DateOnly endDate, bool contractEndChange, CoverageEndReason reason, CancellationToken cancellationToken)
    {
        var request = new EndCoverageRequest
        {
            ParticipantNumber = record.ParticipantNumber,
            EmployerNumber = record.EmployerNumber,
            EndDate = new ApiDate { Year = endDate.Year, Month = endDate.Month, Day = endDate.Day },
            Reason = reason,
            ContractEndChange = contractEndChange,
        };
        request.Programs.Add(programs);
        try
        {
            var response = await membership.EndCoverageAsync(request, cancellationToken);
            return (null, [.. response.EndedPrograms]);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, ex.StatusCode, record.EmploymentId);
            return (new ChangeResult.MembershipUnavailable(), []);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            return (new ChangeResult.Precondition("The registry refused to move the end of this employment's coverage: it already ended on another date.", "COVERAGE_ALREADY_ENDED"), []);
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("EndCoverage", ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7302, Level = LogLevel.Warning, Message = "Membership unavailable ({Status}) while changing employment {EmploymentId}; the agency was told to retry")]
        public static partial void MembershipUnavailable(ILogger logger, StatusCode status, string employmentId);
    }
}
