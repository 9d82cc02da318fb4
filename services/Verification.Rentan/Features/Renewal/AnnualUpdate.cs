using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Rentan.Data;
using Verification.Rentan.Features.Money;
using ApiDate = Verification.Api.Common.V1.Date;

namespace Verification.Rentan.Features.Renewal;

/// <summary>How a December update ended.</summary>
public abstract record AnnualUpdateResult
{
    /// <summary>Every worker decided; the report is read with <see cref="AnnualUpdate.ReportAsync"/>.</summary>
    public sealed record Decided(SponsorScope Scope, AgreementRecord Agreement, AgreementRecord? Next, ExtractRecord Extract) : AnnualUpdateResult;

    public sealed record AgreementNotFound : AnnualUpdateResult;

    public sealed record NoExtract : AnnualUpdateResult;

    /// <summary>A rule of the programme prevents the update; a stable reason and plain words.</summary>
    public sealed record Refused(string Reason, string Message) : AnnualUpdateResult;

    /// <summary>Membership could not be reached: what was decided is kept, running the update again finishes it.</summary>
    public sealed record MembershipUnavailable : AnnualUpdateResult;

    public sealed record NoRates(string Message) : AnnualUpdateResult;
}

/// <summary>What the December report says of one person.</summary>
public enum AnnualOutcome
{
    Renewed,
    Ended,
    NewlyEligible,
}

/// <summary>One line of the report: a worker (with their renewal, or why they ended), or a person of the extract not yet enrolled.</summary>
public sealed record AnnualReportLine(AnnualOutcome Outcome, SponsorshipRecord? Sponsorship, SponsorshipRecord? Renewal, WorkerReasonKind? Reason, ExtractRowRecord? Person, short? Decile);

/// <summary>
/// The December update. The year's workers are read against the sponsor's current extract, poorest deciles first, in
/// batches: those no longer eligible (absent, decile 5 or above, outside the regions, now a wage earner, sponsored
/// elsewhere next year) end with the agreement; the others claim the next year's budget in that order (the rest end for
/// the budget), and Membership extends their coverage to the next agreement's end, a chunk at a time; each confirmed
/// renewal and each end commits with its event. Decisions are kept as they are made, so a run Membership interrupted
/// is finished by running it again, and a run over a decided year changes nothing.
/// </summary>
public sealed partial class AnnualUpdate(
    RentanStore store, IMembershipRegistry membership, MinimumDeclaredIncome minimumIncome, RentanSettings settings, TimeProvider time, ILogger<AnnualUpdate> logger)
{
    public const string SourceModule = "rentan";

    /// <summary>Workers decided together: bounded memory for a million, and a bulk verification and claim per batch.</summary>
    public const int BatchSize = 10_000;

    private sealed record Run(SponsorScope Scope, AgreementRecord Agreement, AgreementRecord? Next, ContributionPricing Pricing, string CorrelationId);

    public async Task<AnnualUpdateResult> RunAsync(SponsorScope scope, int year, string correlationId, CancellationToken cancellationToken)
    {
        var agreement = await store.FindAgreementAsync(AgreementRecord.IdOf(scope.SponsorCode, year), cancellationToken);
        if (agreement is null) return new AnnualUpdateResult.AgreementNotFound();
        var extract = await store.CurrentExtractAsync(scope.SponsorCode, cancellationToken);
        if (extract is null) return new AnnualUpdateResult.NoExtract();
        var following = await store.FindAgreementAsync(AgreementRecord.IdOf(scope.SponsorCode, year + 1), cancellationToken);
        // Renewal extends the coverage: it needs an agreement that starts the day after, for the same programs.
        var next = following is not null && following.StartDate == agreement.EndDate.AddDays(1) ? following : null;
        if (next is not null && next.Programs != agreement.Programs)
            return new AnnualUpdateResult.Refused("NEXT_AGREEMENT_PROGRAMS_DIFFER", "The next year's agreement pays for other programs: a renewal extends the same programs' coverage.");

        var run = new Run(scope, agreement, next, new ContributionPricing(membership, minimumIncome), correlationId);
        try
        {
            if (next is not null && !await ExtendAsync(run, await store.PendingRenewalsAsync(next.AgreementId, cancellationToken), cancellationToken))
                return new AnnualUpdateResult.MembershipUnavailable();

            var budgetSpent = false;
            var batch = new List<RenewalCandidate>(BatchSize);
            await store.RefreshStatisticsAsync(cancellationToken);
            await foreach (var candidate in store.RenewalCandidatesAsync(agreement, extract.ExtractDate, cancellationToken))
            {
                batch.Add(candidate);
                if (batch.Count < BatchSize) continue;
                (var done, budgetSpent) = await DecideAsync(run, batch, budgetSpent, cancellationToken);
                if (!done) return new AnnualUpdateResult.MembershipUnavailable();
                batch = new List<RenewalCandidate>(BatchSize);
            }

            if (batch.Count > 0 && !(await DecideAsync(run, batch, budgetSpent, cancellationToken)).Done) return new AnnualUpdateResult.MembershipUnavailable();
            // The report joins next year's renewals, written just now.
            await store.RefreshStatisticsAsync(cancellationToken);
        }
        catch (PricingUnavailableException ex) when (ex.MembershipDown)
        {
            return new AnnualUpdateResult.MembershipUnavailable();
        }
        catch (PricingUnavailableException ex)
        {
            return new AnnualUpdateResult.NoRates(ex.Message);
        }

        return new AnnualUpdateResult.Decided(scope, agreement, next, extract);
    }

    /// <summary>The report of a decided update: the year's workers in a stable order (the NIK's keyed hash), then the extract's eligible people not enrolled, poorest first.</summary>
    public async IAsyncEnumerable<AnnualReportLine> ReportAsync(AnnualUpdateResult.Decided decided, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in store.ReportAsync(decided.Agreement, decided.Extract.ExtractDate, decided.Next?.AgreementId, cancellationToken))
        {
            var sponsorship = row.Sponsorship;
            if (sponsorship.State == SponsorshipStateKind.Renewed && row.Renewal is not null)
                yield return new AnnualReportLine(AnnualOutcome.Renewed, sponsorship, row.Renewal, null, null, row.ExtractDecile);
            else if (sponsorship.State == SponsorshipStateKind.Ending)
                yield return new AnnualReportLine(AnnualOutcome.Ended, sponsorship, null, sponsorship.EndReason, null, row.ExtractDecile);
            // An ACTIVE one was enrolled while the update ran: the next run decides it.
        }

        var year = decided.Agreement.Year;
        await foreach (var person in store.UnsponsoredEligibleAsync(decided.Scope.SponsorCode, decided.Extract.ExtractDate, year, year + 1, cancellationToken))
        {
            if (decided.Scope.Covers(person.RegencyCode)) yield return new AnnualReportLine(AnnualOutcome.NewlyEligible, null, null, null, person, person.Decile);
        }
    }

    /// <summary>Decides one batch (poorest first); false when Membership could not be reached. Returns whether the budget ran out.</summary>
    private async Task<(bool Done, bool BudgetSpent)> DecideAsync(Run run, List<RenewalCandidate> batch, bool budgetSpent, CancellationToken cancellationToken)
    {
        var ends = new List<(SponsorshipRecord Sponsorship, WorkerReasonKind Reason)>();
        var eligible = new List<RenewalCandidate>();
        var resumed = new List<SponsorshipRecord>();
        foreach (var candidate in batch)
        {
            var sponsorship = candidate.Sponsorship;
            if (candidate.NextYear is { } following)
            {
                if (following.RenewedFrom != sponsorship.SponsorshipId) ends.Add((sponsorship, WorkerReasonKind.SponsoredElsewhere));
                else if (following.State == SponsorshipStateKind.Pending) resumed.Add(following);
                continue;
            }

            WorkerReasonKind? reason = candidate.ExtractDecile is not { } decile ? WorkerReasonKind.NotInExtract
                : decile > 4 ? WorkerReasonKind.DecileNotEligible
                : !run.Scope.Covers(candidate.ExtractRegency!) ? WorkerReasonKind.OutsideRegion
                : null;
            if (reason is { } why) ends.Add((sponsorship, why));
            else eligible.Add(candidate);
        }

        IReadOnlySet<long> wageEarners;
        try
        {
            wageEarners = await membership.WageEarnersAsync([.. eligible.Select(c => c.Sponsorship.Nik)], cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, "verification", eligible.Count);
            await EndAsync(run, ends);
            return (false, budgetSpent);
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("VerifyMembershipBatch", ex);
        }

        var renewing = new List<RenewalCandidate>();
        foreach (var candidate in eligible)
        {
            if (wageEarners.Contains(candidate.Sponsorship.Nik)) ends.Add((candidate.Sponsorship, WorkerReasonKind.CoveredAsWageEarner));
            else if (run.Next is null) ends.Add((candidate.Sponsorship, WorkerReasonKind.NoNextAgreement));
            else if (budgetSpent) ends.Add((candidate.Sponsorship, WorkerReasonKind.BudgetExhausted));
            else renewing.Add(candidate);
        }

        var claimed = new List<SponsorshipRecord>(resumed);
        if (renewing.Count > 0)
        {
            var claims = await PriceAsync(run, renewing, cancellationToken);
            var result = await store.ClaimAsync(run.Next!.AgreementId, claims, time.RecordNow(), (_, _) => null, budgetSpent: false, cancellationToken);
            var byRenewal = renewing.ToDictionary(c => c.Sponsorship.SponsorshipId, c => c.Sponsorship, StringComparer.Ordinal);
            claimed.AddRange(result.Claimed);
            foreach (var (claim, _) in result.Exhausted) ends.Add((byRenewal[claim.RenewedFrom!], WorkerReasonKind.BudgetExhausted));
            budgetSpent |= result.Exhausted.Count > 0;
            if (result.Taken.Count > 0)
            {
                // Someone claimed these people for next year meanwhile: a concurrent run of this update, or another sponsor.
                var held = await store.SponsorshipsAsync(run.Next.Year, [.. result.Taken.Select(t => t.Nik)], CancellationToken.None);
                foreach (var taken in result.Taken)
                {
                    if (held.TryGetValue(taken.Nik, out var winner) && winner.RenewedFrom == taken.RenewedFrom)
                    {
                        if (winner.State == SponsorshipStateKind.Pending) claimed.Add(winner);
                    }
                    else
                    {
                        ends.Add((byRenewal[taken.RenewedFrom!], WorkerReasonKind.SponsoredElsewhere));
                    }
                }
            }
        }

        await EndAsync(run, ends);
        return (await ExtendAsync(run, claimed, cancellationToken), budgetSpent);
    }

    private async Task<List<SponsorshipRecord>> PriceAsync(Run run, List<RenewalCandidate> renewing, CancellationToken cancellationToken)
    {
        var next = run.Next!;
        var programs = ProgramCodes.Split(next.Programs);
        var now = time.RecordNow();
        var costs = new Dictionary<long, long>();
        var claims = new List<SponsorshipRecord>(renewing.Count);
        foreach (var candidate in renewing)
        {
            var previous = candidate.Sponsorship;
            if (!costs.TryGetValue(previous.DeclaredIncome, out var cost))
                costs[previous.DeclaredIncome] = cost = await run.Pricing.CommitmentAsync(programs, previous.DeclaredIncome, next.StartDate, next.EndDate, cancellationToken);
            claims.Add(new SponsorshipRecord
            {
                SponsorshipId = Guid.CreateVersion7(now).ToString(),
                AgreementId = next.AgreementId,
                SponsorCode = next.SponsorCode,
                Year = next.Year,
                Nik = previous.Nik,
                FullName = previous.FullName,
                BirthDate = previous.BirthDate,
                Sex = previous.Sex,
                DeclaredIncome = previous.DeclaredIncome,
                Decile = candidate.ExtractDecile!.Value,
                RegencyCode = previous.RegencyCode,
                Programs = next.Programs,
                StartDate = next.StartDate,
                EndDate = next.EndDate,
                Committed = cost,
                State = SponsorshipStateKind.Pending,
                ParticipantNumber = previous.ParticipantNumber,
                StartedPrograms = previous.StartedPrograms,
                RenewedFrom = previous.SponsorshipId,
                CreateMemberCode = previous.CreateMemberCode,
                CreateTime = now,
                UpdateTime = now,
            });
        }

        return claims;
    }

    /// <summary>Commits the batch's ends with their events; never cancelled halfway (what was decided is kept).</summary>
    private async Task EndAsync(Run run, List<(SponsorshipRecord Sponsorship, WorkerReasonKind Reason)> ends)
    {
        if (ends.Count == 0) return;
        var byId = ends.ToDictionary(e => e.Sponsorship.SponsorshipId, StringComparer.Ordinal);
        var now = time.RecordNow();
        await store.EndAsync([.. ends.Select(e => (e.Sponsorship.SponsorshipId, e.Reason))], now, id =>
        {
            var (sponsorship, reason) = byId[id];
            return new RentanSponsorshipEnded(Guid.CreateVersion7(now), now, run.CorrelationId, sponsorship.CreateMemberCode, SourceModule, sponsorship.SponsorCode,
                sponsorship.AgreementId, sponsorship.SponsorshipId, sponsorship.ParticipantNumber ?? "", StoredNames.Of(reason), WibCalendar.EndOf(sponsorship.EndDate));
        }, CancellationToken.None);
    }

    /// <summary>Extends the claimed renewals' coverage in Membership a chunk at a time (a few in flight) and confirms them; false when Membership could not be reached.</summary>
    private async Task<bool> ExtendAsync(Run run, IReadOnlyList<SponsorshipRecord> renewals, CancellationToken cancellationToken)
    {
        if (renewals.Count == 0) return true;
        using var slots = new SemaphoreSlim(settings.ChunksInFlight);
        var chunks = renewals.Chunk(settings.ChunkSize).Select(async chunk =>
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                return await ExtendChunkAsync(run, chunk, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        return (await Task.WhenAll(chunks)).All(done => done);
    }

    private async Task<bool> ExtendChunkAsync(Run run, SponsorshipRecord[] chunk, CancellationToken cancellationToken)
    {
        var next = run.Next!;
        var request = new EndCoveragesRequest();
        request.Items.Add(chunk.Select(renewal =>
        {
            var item = new EndCoverageRequest
            {
                ParticipantNumber = renewal.ParticipantNumber ?? "",
                Channel = EnrolmentChannel.LocalGovernment,
                ChannelReference = renewal.RegencyCode,
                EndDate = new ApiDate { Year = next.EndDate.Year, Month = next.EndDate.Month, Day = next.EndDate.Day },
                ContractEndChange = true,
            };
            item.Programs.Add(ProgramCodes.Split(renewal.Programs));
            return item;
        }));
        EndCoveragesResponse answer;
        try
        {
            answer = await membership.EndManyAsync(request, cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, "coverage extension", chunk.Length);
            return false;
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("EndCoverages", ex);
        }

        if (answer.Results.Count != chunk.Length) throw new InvalidOperationException("Membership answered EndCoverages with another number of results than items.");

        // Membership has answered: the records must catch up even if the caller has gone away.
        var extended = new List<string>();
        var lost = new List<SponsorshipRecord>();
        for (var j = 0; j < chunk.Length; j++)
        {
            var result = answer.Results[j];
            if (result.ResultCase == EndCoveragesResult.ResultOneofCase.Ended && result.Ended.EndedPrograms.Count > 0) extended.Add(chunk[j].SponsorshipId);
            else if (result.ResultCase == EndCoveragesResult.ResultOneofCase.Ended || result.Error.Code is Google.Rpc.Code.FailedPrecondition or Google.Rpc.Code.NotFound) lost.Add(chunk[j]);
            else throw new InvalidOperationException($"Membership answered a coverage extension with {result.Error.Code}.");
        }

        var now = time.RecordNow();
        var byId = chunk.ToDictionary(c => c.SponsorshipId, StringComparer.Ordinal);
        if (extended.Count > 0)
        {
            await store.ConfirmRenewalsAsync(extended, now, id =>
            {
                var renewal = byId[id];
                return new RentanSponsorshipRenewed(Guid.CreateVersion7(now), now, run.CorrelationId, renewal.CreateMemberCode, SourceModule, renewal.SponsorCode,
                    renewal.AgreementId, run.Agreement.AgreementId, renewal.SponsorshipId, renewal.RenewedFrom!, renewal.ParticipantNumber ?? "", renewal.Decile,
                    renewal.Committed, WibCalendar.EndOf(renewal.EndDate));
            }, CancellationToken.None);
        }

        if (lost.Count > 0)
        {
            // Nothing to extend (the coverage was ended in Membership for another reason): the claim goes back and the worker ends.
            await store.ReleaseAsync(next.AgreementId, [.. lost.Select(l => l.SponsorshipId)], CancellationToken.None);
            var previous = await store.SponsorshipsByIdAsync([.. lost.Select(l => l.RenewedFrom!)], CancellationToken.None);
            await EndAsync(run, [.. previous.Select(p => (p, WorkerReasonKind.CoverageEnded))]);
        }

        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7402, Level = LogLevel.Warning, Message = "Membership unavailable during the {Step} of {Rows} workers of a December update; what was decided is kept")]
        public static partial void MembershipUnavailable(ILogger logger, string step, int rows);
    }
}
