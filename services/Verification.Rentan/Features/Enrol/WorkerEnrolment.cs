using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Verification.Api;
using Verification.Api.Membership.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Platform.Privacy;
using Verification.Rentan.Data;
using Verification.Rentan.Features.Money;
using ApiDate = Verification.Api.Common.V1.Date;
using ApiSegment = Verification.Api.Common.V1.Segment;
using ApiSex = Verification.Api.Common.V1.Sex;

namespace Verification.Rentan.Features.Enrol;

/// <summary>A worker as the sponsor lists them, validated; <paramref name="DeclaredIncome"/> null: the agreement's.</summary>
public sealed record WorkerDetails(Nik Nik, string FullName, DateOnly BirthDate, Sex Sex, long? DeclaredIncome)
{
    /// <summary>The NIK's 16 digits as stored.</summary>
    public long NikNumber { get; } = long.Parse(Nik.RevealDigits(), NumberStyles.None, CultureInfo.InvariantCulture);
}

/// <summary>One row of an enrolment list as read from the wire.</summary>
public abstract record ListRow(string RowId)
{
    public sealed record Valid(string RowId, WorkerDetails Worker) : ListRow(RowId);

    public sealed record Invalid(string RowId, IReadOnlyList<FieldViolation> Violations) : ListRow(RowId);
}

/// <summary>What became of one row.</summary>
public abstract record WorkerOutcome
{
    /// <summary>Enrolled now: covered to the agreement's end, its contributions committed.</summary>
    public sealed record Enrolled(SponsorshipRecord Sponsorship) : WorkerOutcome;

    /// <summary>Enrolled before by this sponsor this year with the same data.</summary>
    public sealed record Unchanged(SponsorshipRecord Sponsorship) : WorkerOutcome;

    /// <summary>A rule of the programme refuses it.</summary>
    public sealed record Refused(WorkerReasonKind Reason) : WorkerOutcome;

    /// <summary>The worker's domicile in the extract lies outside the sponsor's reach: a region not its own (the adapter audits it).</summary>
    public sealed record OutsideRegion(string RegencyCode) : WorkerOutcome;

    /// <summary>Enrolled before by this sponsor this year with other data: the differing field paths (never their values).</summary>
    public sealed record Conflict(IReadOnlyList<string> DifferingFields) : WorkerOutcome;

    /// <summary>The row's own fields are invalid.</summary>
    public sealed record Invalid(IReadOnlyList<FieldViolation> Violations) : WorkerOutcome;

    /// <summary>Membership refused the worker's data (its rules); the claim was given back.</summary>
    public sealed record MembershipRefused(IReadOnlyList<FieldViolation> Violations) : WorkerOutcome;

    /// <summary>Membership could not be reached; any claim keeps its budget and sending the row again finishes it.</summary>
    public sealed record MembershipUnavailable : WorkerOutcome;
}

/// <summary>A row's answer: its position in the list (from 0), its row id, and what became of it.</summary>
public sealed record WorkerAnswer(long Offset, string RowId, WorkerOutcome Outcome);

/// <summary>What a list did, counted over its rows, and the budget afterwards.</summary>
public sealed record EnrolmentSummary(long Rows, long Enrolled, long Unchanged, long Refused, long Rejected, long Committed, long Remaining);

/// <summary>How an enrolment list ended.</summary>
public abstract record EnrolmentResult
{
    public sealed record Done(IReadOnlyList<WorkerAnswer> Answers, EnrolmentSummary Summary) : EnrolmentResult;

    public sealed record AgreementNotFound : EnrolmentResult;

    public sealed record AgreementNotInForce(AgreementRecord Agreement) : EnrolmentResult;

    public sealed record NoExtract : EnrolmentResult;

    /// <summary>Membership has no rates (or there is no minimum income) for a month of the agreement; the message says which.</summary>
    public sealed record NoRates(string Message) : EnrolmentResult;
}

/// <summary>
/// EnrolWorkers: a sponsor's list decided as a whole. Rows are checked set-based a chunk at a time (the year's
/// sponsorships and the extract read once per chunk, wage-earner coverage asked of Membership in bulk), priced from
/// Membership's dated rates, then the budget is claimed in one transaction under the agreement's lock, poorest deciles
/// first; the claims are enrolled in Membership a chunk at a time (a few in flight) and confirmed with their events.
/// </summary>
/// <remarks>
/// A claim is made before Membership is asked, so an enrolment never exists in Membership without its budget. Membership
/// is asked with an idempotency key derived from (sponsor, NIK, year): a chunk that failed after Membership answered
/// (crash, lost connection) re-asks with the same keys and the same data (the claim's) and gets the same participants.
/// </remarks>
public sealed partial class WorkerEnrolment(
    RentanStore store, IMembershipRegistry membership, MinimumDeclaredIncome minimumIncome, NikSealer nikSealer, RentanSettings settings, TimeProvider time,
    ILogger<WorkerEnrolment> logger)
{
    public const string SourceModule = "rentan";

    private sealed record Candidate(int Index, WorkerDetails Worker, ExtractRowRecord Row);

    public async Task<EnrolmentResult> EnrolAsync(
        SponsorScope scope, string agreementId, IReadOnlyList<ListRow> rows, string memberCode, string correlationId, CancellationToken cancellationToken)
    {
        var agreement = await store.FindAgreementAsync(agreementId, cancellationToken);
        if (agreement is null || agreement.SponsorCode != scope.SponsorCode) return new EnrolmentResult.AgreementNotFound();
        var today = time.JakartaToday();
        if (!agreement.InForceOn(today)) return new EnrolmentResult.AgreementNotInForce(agreement);
        var extract = await store.CurrentExtractAsync(scope.SponsorCode, cancellationToken);
        if (extract is null) return new EnrolmentResult.NoExtract();

        var outcomes = new WorkerOutcome?[rows.Count];
        var valid = new List<(int Index, WorkerDetails Worker)>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is ListRow.Valid ok) valid.Add((i, ok.Worker));
            else outcomes[i] = new WorkerOutcome.Invalid(((ListRow.Invalid)rows[i]).Violations);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var resumed = new List<(int Index, SponsorshipRecord Claim)>();
        var candidates = new List<Candidate>();
        // Chunks checked side by side (each reads on its own connection and asks Membership once); merged in list order.
        var checks = valid.Chunk(RentanStore.LookupChunk).ToArray();
        var checkedChunks = new (List<(int Index, SponsorshipRecord Claim)> Resumed, List<Candidate> Candidates)[checks.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, checks.Length),
            new ParallelOptions { MaxDegreeOfParallelism = settings.ChunksInFlight, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var chunkResumed = new List<(int Index, SponsorshipRecord Claim)>();
                var chunkCandidates = new List<Candidate>();
                await CheckAsync(scope, agreement, extract, checks[i], outcomes, chunkResumed, chunkCandidates, ct);
                checkedChunks[i] = (chunkResumed, chunkCandidates);
            });
        foreach (var (chunkResumed, chunkCandidates) in checkedChunks)
        {
            resumed.AddRange(chunkResumed);
            candidates.AddRange(chunkCandidates);
        }

        var checkedAt = clock.Elapsed;
        var pricing = new ContributionPricing(membership, minimumIncome);
        List<SponsorshipRecord> priced = [];
        if (candidates.Count > 0)
        {
            try
            {
                priced = await PriceAsync(pricing, agreement, candidates, memberCode, today, time.RecordNow(), cancellationToken);
            }
            catch (PricingUnavailableException ex) when (ex.MembershipDown)
            {
                Log.MembershipUnavailable(logger, "pricing", candidates.Count);
                foreach (var candidate in candidates) outcomes[candidate.Index] = new WorkerOutcome.MembershipUnavailable();
            }
            catch (PricingUnavailableException ex)
            {
                return new EnrolmentResult.NoRates(ex.Message);
            }
        }

        // Each part of the claims is enrolled through Membership while the next part is claimed.
        await using var pipeline = new EnrolmentPipeline(settings.ChunksInFlight, settings.ChunkSize, chunk => EnrolChunkAsync(agreement, chunk, outcomes, correlationId, cancellationToken), cancellationToken);
        pipeline.Enrol(resumed);
        // Pending claims of this sponsor's that a concurrent sending of the list made first: found while claiming, enrolled after.
        var claimedMeanwhile = new List<(int Index, SponsorshipRecord Claim)>();
        var claimedCount = priced.Count == 0 ? 0 : await ClaimAsync(scope, agreement, candidates, priced, outcomes, pipeline.Enrol, claimedMeanwhile, correlationId, cancellationToken);
        pipeline.Enrol(claimedMeanwhile);
        var claimedAt = clock.Elapsed;
        await pipeline.CompleteAsync();
        Log.ListDecided(logger, agreementId, rows.Count, checkedAt.TotalMilliseconds, claimedCount, (claimedAt - checkedAt).TotalMilliseconds,
            pipeline.Sent, (clock.Elapsed - claimedAt).TotalMilliseconds);

        var answers = new WorkerAnswer[rows.Count];
        long enrolled = 0, unchanged = 0, refused = 0, rejected = 0, committed = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var outcome = outcomes[i] ?? throw new InvalidOperationException("A row was left without an outcome.");
            answers[i] = new WorkerAnswer(i, rows[i].RowId, outcome);
            switch (outcome)
            {
                case WorkerOutcome.Enrolled e: enrolled++; committed += e.Sponsorship.Committed; break;
                case WorkerOutcome.Unchanged: unchanged++; break;
                case WorkerOutcome.Refused: refused++; break;
                default: rejected++; break;
            }
        }

        var after = await store.FindAgreementAsync(agreementId, CancellationToken.None);
        return new EnrolmentResult.Done(answers, new EnrolmentSummary(rows.Count, enrolled, unchanged, refused, rejected, committed, after?.Remaining ?? 0));
    }

    /// <summary>The key under which Membership deduplicates this enrolment; the NIK and sponsor enter it only hashed.</summary>
    public static string MembershipIdempotencyKey(string sponsorCode, long nik, int year)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes($"rentan-enrolment|{sponsorCode}|{nik:D16}"));
        return string.Create(CultureInfo.InvariantCulture, $"rentan:{year}:{Convert.ToHexStringLower(digest.AsSpan(0, 16))}");
    }

    /// <summary>The fields of a row that differ from the stored enrolment, as proto field paths (an unstated income differs from nothing).</summary>
    public static IReadOnlyList<string> DifferingFields(SponsorshipRecord stored, WorkerDetails given)
    {
        var fields = new List<string>();
        if (stored.FullName != given.FullName) fields.Add("row.full_name");
        if (stored.BirthDate != given.BirthDate) fields.Add("row.birth_date");
        if (stored.Sex != given.Sex) fields.Add("row.sex");
        if (given.DeclaredIncome is { } income && income != stored.DeclaredIncome) fields.Add("row.declared_monthly_income_rupiah");
        return fields;
    }

    /// <summary>One chunk of valid rows against the year's sponsorships, the extract, and Membership's wage earners.</summary>
    private async Task CheckAsync(
        SponsorScope scope, AgreementRecord agreement, ExtractRecord extract, (int Index, WorkerDetails Worker)[] chunk, WorkerOutcome?[] outcomes,
        List<(int Index, SponsorshipRecord Claim)> resumed, List<Candidate> candidates, CancellationToken cancellationToken)
    {
        var niks = chunk.Select(c => c.Worker.NikNumber).ToArray();
        var held = await store.SponsorshipsAsync(agreement.Year, niks, cancellationToken);
        var people = await store.ExtractRowsAsync(scope.SponsorCode, extract.ExtractDate, niks, cancellationToken);
        var check = new List<Candidate>();
        foreach (var (index, worker) in chunk)
        {
            if (held.TryGetValue(worker.NikNumber, out var sponsorship))
            {
                outcomes[index] = Existing(scope, sponsorship, worker, index, resumed);
                continue;
            }

            outcomes[index] = !people.TryGetValue(worker.NikNumber, out var person) ? new WorkerOutcome.Refused(WorkerReasonKind.NotInExtract)
                : !person.Eligible ? new WorkerOutcome.Refused(WorkerReasonKind.DecileNotEligible)
                : !scope.Covers(person.RegencyCode) ? new WorkerOutcome.OutsideRegion(person.RegencyCode)
                : null;
            if (outcomes[index] is null) check.Add(new Candidate(index, worker, person!));
        }

        if (check.Count == 0) return;
        IReadOnlySet<long> wageEarners;
        try
        {
            wageEarners = await membership.WageEarnersAsync([.. check.Select(c => c.Worker.NikNumber)], cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, "verification", check.Count);
            foreach (var candidate in check) outcomes[candidate.Index] = new WorkerOutcome.MembershipUnavailable();
            return;
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("VerifyMembershipBatch", ex);
        }

        foreach (var candidate in check)
        {
            if (wageEarners.Contains(candidate.Worker.NikNumber)) outcomes[candidate.Index] = new WorkerOutcome.Refused(WorkerReasonKind.CoveredAsWageEarner);
            else candidates.Add(candidate);
        }
    }

    /// <summary>A person already sponsored this year: another sponsor's refuses; this sponsor's is unchanged, conflicting, or a pending claim to resume.</summary>
    private static WorkerOutcome? Existing(SponsorScope scope, SponsorshipRecord sponsorship, WorkerDetails worker, int index, List<(int Index, SponsorshipRecord Claim)> resumed)
    {
        if (sponsorship.SponsorCode != scope.SponsorCode) return new WorkerOutcome.Refused(WorkerReasonKind.SponsoredElsewhere);
        var differing = DifferingFields(sponsorship, worker);
        if (differing.Count > 0) return new WorkerOutcome.Conflict(differing);
        if (sponsorship.State != SponsorshipStateKind.Pending) return new WorkerOutcome.Unchanged(sponsorship);
        resumed.Add((index, sponsorship));
        return null;
    }

    private static async Task<List<SponsorshipRecord>> PriceAsync(
        ContributionPricing pricing, AgreementRecord agreement, List<Candidate> candidates, string memberCode, DateOnly today, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var programs = ProgramCodes.Split(agreement.Programs);
        var priced = new List<SponsorshipRecord>(candidates.Count);
        var costs = new Dictionary<long, long>();
        foreach (var candidate in candidates)
        {
            var income = pricing.IncomeFor(candidate.Worker.DeclaredIncome, agreement.DeclaredIncome, today);
            if (!costs.TryGetValue(income, out var cost)) costs[income] = cost = await pricing.CommitmentAsync(programs, income, today, agreement.EndDate, cancellationToken);
            var worker = candidate.Worker;
            priced.Add(new SponsorshipRecord
            {
                SponsorshipId = Guid.CreateVersion7(now).ToString(),
                AgreementId = agreement.AgreementId,
                SponsorCode = agreement.SponsorCode,
                Year = agreement.Year,
                Nik = worker.NikNumber,
                FullName = worker.FullName,
                BirthDate = worker.BirthDate,
                Sex = worker.Sex,
                DeclaredIncome = income,
                Decile = candidate.Row.Decile,
                RegencyCode = candidate.Row.RegencyCode,
                Programs = agreement.Programs,
                StartDate = today,
                EndDate = agreement.EndDate,
                Committed = cost,
                State = SponsorshipStateKind.Pending,
                CreateMemberCode = memberCode,
                CreateTime = now,
                UpdateTime = now,
            });
        }

        return priced;
    }

    /// <summary>
    /// Claims the budget for the priced candidates, poorest deciles first (then list order), a part at a time, handing each
    /// part's claims to <paramref name="enrol"/> as soon as they are committed; answers the ones it cannot take. Returns how many it claimed.
    /// </summary>
    private async Task<int> ClaimAsync(
        SponsorScope scope, AgreementRecord agreement, List<Candidate> candidates, List<SponsorshipRecord> priced, WorkerOutcome?[] outcomes,
        Action<List<(int Index, SponsorshipRecord Claim)>> enrol, List<(int Index, SponsorshipRecord Claim)> resumed, string correlationId,
        CancellationToken cancellationToken)
    {
        var indexOf = new Dictionary<string, int>(priced.Count, StringComparer.Ordinal);
        for (var i = 0; i < priced.Count; i++) indexOf[priced[i].SponsorshipId] = candidates[i].Index;
        var ordered = priced.Select((claim, i) => (claim, candidates[i].Index)).OrderBy(p => p.claim.Decile).ThenBy(p => p.Index).Select(p => p.claim).ToList();
        var claimedCount = 0;
        var budgetSpent = false;
        foreach (var part in ordered.Chunk(settings.ClaimSegment))
        {
            var now = time.RecordNow();
            var result = await store.ClaimAsync(agreement.AgreementId, part, now, (claim, remaining) =>
            {
                var eventId = Guid.CreateVersion7(now);
                return new RentanEnrolmentRefused(eventId, now, correlationId, claim.CreateMemberCode, SourceModule, claim.SponsorCode, claim.AgreementId,
                    nikSealer.Seal(claim.NikDigits, eventId), Nik.MaskInput(claim.NikDigits), claim.Decile, StoredNames.Of(WorkerReasonKind.BudgetExhausted), claim.Committed, remaining);
            }, budgetSpent, cancellationToken);

            claimedCount += result.Claimed.Count;
            enrol([.. result.Claimed.Select(c => (indexOf[c.SponsorshipId], c))]);
            foreach (var (claim, _) in result.Exhausted) outcomes[indexOf[claim.SponsorshipId]] = new WorkerOutcome.Refused(WorkerReasonKind.BudgetExhausted);
            budgetSpent |= result.Exhausted.Count > 0;
            if (result.Taken.Count == 0) continue;

            // Another writer claimed these people for the year between the check and the claim: decide as if it had been first.
            var held = await store.SponsorshipsAsync(agreement.Year, [.. result.Taken.Select(t => t.Nik)], CancellationToken.None);
            foreach (var taken in result.Taken)
            {
                var index = indexOf[taken.SponsorshipId];
                var worker = candidates.First(c => c.Index == index).Worker;
                outcomes[index] = held.TryGetValue(taken.Nik, out var winner)
                    ? Existing(scope, winner, worker, index, resumed)
                    : throw new InvalidOperationException("A claim lost to a sponsorship that no committed row holds.");
            }
        }

        return claimedCount;
    }

    private async Task EnrolChunkAsync(AgreementRecord agreement, (int Index, SponsorshipRecord Claim)[] chunk, WorkerOutcome?[] outcomes, string correlationId, CancellationToken cancellationToken)
    {
        var request = new EnrollParticipantsRequest();
        request.Items.Add(chunk.Select(c => EnrolRequest(c.Claim)));
        EnrollParticipantsResponse answer;
        try
        {
            answer = await membership.EnrolManyAsync(request, cancellationToken);
        }
        catch (RpcException ex) when (MembershipRegistry.IsTransient(ex))
        {
            Log.MembershipUnavailable(logger, "enrolment", chunk.Length);
            foreach (var (index, _) in chunk) outcomes[index] = new WorkerOutcome.MembershipUnavailable();
            return;
        }
        catch (RpcException ex)
        {
            throw MembershipRegistry.Unexpected("EnrollParticipants", ex);
        }

        if (answer.Results.Count != chunk.Length) throw new InvalidOperationException("Membership answered EnrollParticipants with another number of results than items.");

        // Membership has answered: the records must catch up even if the sponsor has gone away.
        var now = time.RecordNow();
        var confirmations = new List<Confirmation>();
        var released = new List<string>();
        var byId = new Dictionary<string, (int Index, SponsorshipRecord Claim)>(StringComparer.Ordinal);
        for (var j = 0; j < chunk.Length; j++)
        {
            var (index, claim) = chunk[j];
            var result = answer.Results[j];
            if (result.ResultCase == EnrollParticipantsResult.ResultOneofCase.Enrolled)
            {
                claim.ParticipantNumber = result.Enrolled.ParticipantNumber;
                claim.StartedPrograms = ProgramCodes.Join(result.Enrolled.StartedPrograms);
                confirmations.Add(new Confirmation(claim.SponsorshipId, claim.ParticipantNumber, claim.StartedPrograms));
                byId[claim.SponsorshipId] = (index, claim);
                continue;
            }

            released.Add(claim.SponsorshipId);
            outcomes[index] = result.Error?.Code switch
            {
                Google.Rpc.Code.InvalidArgument => new WorkerOutcome.MembershipRefused(MembershipViolations(result.Error)),
                // The key reached Membership earlier with other data, and that attempt left no sponsorship here.
                Google.Rpc.Code.AlreadyExists => new WorkerOutcome.Conflict([]),
                var code => throw new InvalidOperationException($"Membership answered an enrolment item with {code}."),
            };
        }

        var confirmed = confirmations.Count == 0 ? new HashSet<string>() : await store.ConfirmAsync(confirmations, now, id =>
        {
            var claim = byId[id].Claim;
            var eventId = Guid.CreateVersion7(now);
            return new RentanWorkerEnrolled(eventId, now, correlationId, claim.CreateMemberCode, SourceModule, claim.SponsorCode, claim.AgreementId,
                claim.SponsorshipId, claim.ParticipantNumber!, nikSealer.Seal(claim.NikDigits, eventId), Nik.MaskInput(claim.NikDigits), claim.Decile, claim.RegencyCode,
                [.. claim.Programs.Split(',')], claim.Committed, WibCalendar.StartOf(claim.StartDate), WibCalendar.EndOf(claim.EndDate));
        }, CancellationToken.None);
        await store.ReleaseAsync(agreement.AgreementId, released, CancellationToken.None);

        var others = confirmations.Where(c => !confirmed.Contains(c.SponsorshipId)).Select(c => c.SponsorshipId).ToList();
        var stored = others.Count == 0 ? [] : (await store.SponsorshipsByIdAsync(others, CancellationToken.None)).ToDictionary(s => s.SponsorshipId, StringComparer.Ordinal);
        foreach (var (id, (index, claim)) in byId)
        {
            if (confirmed.Contains(id))
            {
                claim.State = SponsorshipStateKind.Active;
                claim.UpdateTime = now;
                outcomes[index] = new WorkerOutcome.Enrolled(claim);
            }
            else
            {
                // A concurrent sending of the same list confirmed it first.
                outcomes[index] = stored.TryGetValue(id, out var winner) ? new WorkerOutcome.Unchanged(winner) : new WorkerOutcome.MembershipUnavailable();
            }
        }
    }

    private static EnrollParticipantRequest EnrolRequest(SponsorshipRecord claim)
    {
        var request = new EnrollParticipantRequest
        {
            IdempotencyKey = MembershipIdempotencyKey(claim.SponsorCode, claim.Nik, claim.Year),
            Nik = claim.NikDigits,
            FullName = claim.FullName,
            BirthDate = ToApi(claim.BirthDate),
            Sex = claim.Sex == Sex.Female ? ApiSex.Female : ApiSex.Male,
            Segment = ApiSegment.Bpu,
            Channel = EnrolmentChannel.LocalGovernment,
            ChannelReference = claim.RegencyCode,
            MonthlyIncomeRupiah = claim.DeclaredIncome,
            StartDate = ToApi(claim.StartDate),
            EndDate = ToApi(claim.EndDate),
        };
        request.Programs.Add(ProgramCodes.Split(claim.Programs));
        return request;
    }

    /// <summary>Membership's field paths in terms of this API's row, so the sponsor sees its own fields.</summary>
    private static List<FieldViolation> MembershipViolations(Api.Common.V1.RowError error)
    {
        var violations = error.FieldViolations.Select(v => new FieldViolation(v.Field switch
        {
            "nik" => "row.nik",
            "full_name" => "row.full_name",
            "birth_date" => "row.birth_date",
            "sex" => "row.sex",
            "monthly_income_rupiah" => "row.declared_monthly_income_rupiah",
            _ => "row",
        }, v.Reason, v.Description)).ToList();
        if (violations.Count == 0) violations.Add(new FieldViolation("row", "WORKER_REFUSED", "The registry refused the worker's data."));
        return violations;
    }

    private static ApiDate ToApi(DateOnly day) => new() { Year = day.Year, Month = day.Month, Day = day.Day };

    private static partial class Log
    {
        [LoggerMessage(EventId = 7401, Level = LogLevel.Warning, Message = "Membership unavailable during {Step} of {Rows} rows of an enrolment list; the rows were answered UNAVAILABLE")]
        public static partial void MembershipUnavailable(ILogger logger, string step, int rows);

        // Where a list's time went, for the operator who wonders why a list is slow; counts and durations only.
        [LoggerMessage(EventId = 7402, Level = LogLevel.Information, Message = "Enrolment list for agreement {AgreementId}: {Rows} rows checked in {CheckMs:F0} ms, {Claimed} claims made in {ClaimMs:F0} ms, {Enrolling} enrolled through Membership in {EnrolMs:F0} ms")]
        public static partial void ListDecided(ILogger logger, string agreementId, int rows, double checkMs, int claimed, double claimMs, int enrolling, double enrolMs);
    }

    /// <summary>Claims on their way through Membership: chunks of them, a few at a time, started as they are handed in.</summary>
    private sealed class EnrolmentPipeline(int inFlight, int chunkSize, Func<(int Index, SponsorshipRecord Claim)[], Task> enrolChunk, CancellationToken cancellationToken) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _slots = new(inFlight);
        private readonly List<Task> _chunks = [];

        /// <summary>Claims handed in so far.</summary>
        public int Sent { get; private set; }

        public void Enrol(List<(int Index, SponsorshipRecord Claim)> claims)
        {
            Sent += claims.Count;
            _chunks.AddRange(claims.Chunk(chunkSize).Select(InTurnAsync));
        }

        /// <summary>Waits for every chunk; the first failure is thrown.</summary>
        public Task CompleteAsync() => Task.WhenAll(_chunks);

        /// <summary>After a failure elsewhere, chunks already started finish (or fail) before the list does.</summary>
        public async ValueTask DisposeAsync()
        {
            await Task.WhenAll(_chunks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _slots.Dispose();
        }

        private async Task InTurnAsync((int Index, SponsorshipRecord Claim)[] chunk)
        {
            await _slots.WaitAsync(cancellationToken);
            try
            {
                await enrolChunk(chunk);
            }
            finally
            {
                _slots.Release();
            }
        }
    }
}
