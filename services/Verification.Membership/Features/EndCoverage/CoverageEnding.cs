using Verification.Contracts.Events;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features.Enrol;
using Verification.Platform.Outbox;

namespace Verification.Membership.Features.EndCoverage;

/// <summary>A validated request to end the coverage one source gave a participant.</summary>
public sealed record CoverageEndCommand(
    string MemberCode,
    string CorrelationId,
    ParticipantNumber Number,
    ProgramSet Programs,
    CoverageSource Source,
    DateOnly EndDate,
    CoverageEndReason Reason,
    bool ContractEndChange = false,
    string? OnBehalfOf = null,
    string? RelayedBy = null)
{
    /// <summary>Who the event names as acting: the partner a module relayed, else the caller.</summary>
    public string ActingMember => OnBehalfOf ?? MemberCode;
}

/// <summary>What ending did: the programs that now end on the date (newly or already), and what is still in force today.</summary>
public sealed record CoverageEndResult(bool Found, string? Conflict, ProgramSet Ended, ProgramSet ActiveToday)
{
    public static readonly CoverageEndResult NotFound = new(false, null, ProgramSet.Empty, ProgramSet.Empty);

    public static CoverageEndResult Refused(string conflict) => new(true, conflict, ProgramSet.Empty, ProgramSet.Empty);
}

/// <summary>
/// Ends programs of the coverage one employer or channel gave. Idempotent: a program already ended by this source on
/// the same date counts as ended again without a new event; on another date it is a conflict. A coverage row covering
/// more programs than are ended is split, so each program keeps its own end. A loan cancelled on or before the first
/// day of the coverage it brought voids that coverage: it ends the day before it began, so it never covered a day.
/// </summary>
public sealed class CoverageEnding(RegistryStore store, TimeProvider time)
{
    public async Task<CoverageEndResult> EndAsync(CoverageEndCommand command, CancellationToken cancellationToken)
    {
        await using var change = await store.BeginCoverageChangeAsync(command.Number.Sequence, cancellationToken);
        if (change is null) return CoverageEndResult.NotFound;
        var (result, ended) = Apply(command, change.Coverages, change.Add, time.GetUtcNow(), time.JakartaToday());
        if (ended is not null) await change.SaveAsync(OutboxDbContextExtensions.NewOutboxMessage(ended), cancellationToken);
        return result;
    }

    /// <summary>
    /// Many ends, each answered exactly as <see cref="EndAsync"/> would answer it alone, in one transaction: the persons
    /// locked and their coverages read once, every change and event saved together. Items for one participant apply in order.
    /// </summary>
    public async Task<IReadOnlyList<CoverageEndResult>> EndManyAsync(IReadOnlyList<CoverageEndCommand> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return [];
        await using var changes = await store.BeginCoverageChangesAsync([.. commands.Select(c => c.Number.Sequence).Distinct()], cancellationToken);
        var now = time.GetUtcNow();
        var today = time.JakartaToday();
        var results = new CoverageEndResult[commands.Count];
        var events = new List<CoverageEnded>();
        for (var i = 0; i < commands.Count; i++)
        {
            var participant = commands[i].Number.Sequence;
            if (changes.CoveragesOf(participant) is not { } coverages)
            {
                results[i] = CoverageEndResult.NotFound;
                continue;
            }

            var (result, ended) = Apply(commands[i], coverages, split => changes.Add(participant, split), now, today);
            results[i] = result;
            if (ended is not null) events.Add(ended);
        }

        if (changes.Any || events.Count > 0) await changes.SaveAsync(events, cancellationToken);
        return results;
    }

    /// <summary>
    /// One end against a participant's coverages (tracked, under their person's lock): changes them, adds split rows through
    /// <paramref name="addSplit"/>, and returns the answer with the event to publish (null when nothing new ended). A refusal
    /// changes nothing. The one rule both EndCoverage and EndCoverages apply.
    /// </summary>
    private static (CoverageEndResult Result, CoverageEnded? Ended) Apply(
        CoverageEndCommand command, IReadOnlyList<CoverageRecord> coverages, Action<CoverageRecord> addSplit, DateTimeOffset now, DateOnly today)
    {
        var newlyEnded = ProgramSet.Empty;
        var alreadyEnded = ProgramSet.Empty;
        var toEnd = new Dictionary<CoverageRecord, ProgramSet>();
        foreach (var program in command.Programs.ToList())
        {
            var fromSource = coverages.Where(c => c.SameSource(command.Source) && c.Programs.Contains(program)).ToList();
            // The latest coverage not yet ended by a request; an end date without a reason was a contract end known at the start.
            var open = fromSource.Where(c => c.EndReason is null).MaxBy(c => (c.StartDate, c.Id));
            if (open is not null)
            {
                if (command.EndDate < open.StartDate && !Voids(command, open)) return (CoverageEndResult.Refused($"The end date is before the start of the {program.ToString().ToUpperInvariant()} coverage."), null);
                // A contract end moved to the day it already has changes nothing.
                if (command.ContractEndChange && open.EndDate == command.EndDate)
                {
                    alreadyEnded = alreadyEnded.Union(ProgramSet.Of(program));
                    continue;
                }

                toEnd[open] = toEnd.GetValueOrDefault(open).Union(ProgramSet.Of(program));
                continue;
            }

            if (command.ContractEndChange && fromSource.Count > 0)
                return (CoverageEndResult.Refused($"The {program.ToString().ToUpperInvariant()} coverage from this source was already ended; its contract end can no longer move."), null);

            var ended = fromSource.MaxBy(c => (c.StartDate, c.Id));
            if (ended is null) continue;
            if (ended.EndDate != EndOf(command, ended)) return (CoverageEndResult.Refused($"The {program.ToString().ToUpperInvariant()} coverage from this source already ended on another date."), null);
            alreadyEnded = alreadyEnded.Union(ProgramSet.Of(program));
        }

        // A contract's coverage keeps ending with its contract (no reason), so it can move again or end later.
        CoverageEndReason? endReason = command.ContractEndChange ? null : command.Reason;
        var eventEnd = toEnd.Keys.Select(c => EndOf(command, c)).DefaultIfEmpty(command.EndDate).Max();
        foreach (var (coverage, programs) in toEnd)
        {
            newlyEnded = newlyEnded.Union(programs);
            var endDate = EndOf(command, coverage);
            if (programs == coverage.Programs)
            {
                coverage.EndDate = endDate;
                coverage.EndReason = endReason;
                continue;
            }

            // Split: the ended programs keep the start date on a row of their own.
            coverage.Programs = coverage.Programs.Except(programs);
            addSplit(new CoverageRecord
            {
                ParticipantId = coverage.ParticipantId,
                Programs = programs,
                Segment = coverage.Segment,
                EmployerNumber = coverage.EmployerNumber,
                Channel = coverage.Channel,
                ChannelReference = coverage.ChannelReference,
                MonthlyIncome = coverage.MonthlyIncome,
                StartDate = coverage.StartDate,
                EndDate = endDate,
                EndReason = endReason,
                CreatedAt = now,
            });
        }

        CoverageEnded? endedEvent = newlyEnded.IsEmpty ? null : new CoverageEnded(
            Guid.CreateVersion7(now), now, command.CorrelationId, command.ActingMember, ParticipantEnrolment.SourceModule, command.Number.Value,
            ParticipantEnrolment.ProgramNames(newlyEnded), command.Source.EmployerNumber, WibCalendar.EndOf(eventEnd),
            command.ContractEndChange ? ContractEndChanged : ReasonName(command.Reason), command.Source.ChannelName, command.Source.ChannelReference, command.RelayedBy);

        var active = ProgramSet.Empty;
        foreach (var coverage in coverages)
        {
            if (coverage.ToSpan().InForceOn(today)) active = active.Union(coverage.Programs);
        }

        return (new CoverageEndResult(true, null, newlyEnded.Union(alreadyEnded), active), endedEvent);
    }

    /// <summary>A loan cancelled on or before the coverage's first day: the coverage never began.</summary>
    private static bool Voids(CoverageEndCommand command, CoverageRecord coverage) =>
        command.Reason == CoverageEndReason.LoanCancelled && !command.ContractEndChange && command.EndDate <= coverage.StartDate;

    /// <summary>The last day the coverage covers: the day asked, or the day before it began when the cancellation voids it.</summary>
    private static DateOnly EndOf(CoverageEndCommand command, CoverageRecord coverage) =>
        Voids(command, coverage) ? coverage.StartDate.AddDays(-1) : command.EndDate;

    /// <summary>The reason CoverageEnded gives when a contract's end moved rather than the coverage being ended.</summary>
    public const string ContractEndChanged = "CONTRACT_END_CHANGED";

    private static string ReasonName(CoverageEndReason reason) => reason switch
    {
        CoverageEndReason.EmploymentEnded => "EMPLOYMENT_ENDED",
        CoverageEndReason.LoanCancelled => "LOAN_CANCELLED",
        CoverageEndReason.Deceased => "DECEASED",
        CoverageEndReason.DataCorrection => "DATA_CORRECTION",
        _ => "OTHER",
    };
}
