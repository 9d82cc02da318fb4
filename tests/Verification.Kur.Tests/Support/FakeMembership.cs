using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Kur.Features;
using Grpc.Core;
using Verification.Api;

namespace Verification.Kur.Tests.Support;

/// <summary>
/// Membership as KUR relies on it: verification, enrolment idempotent on its key, quotes, and idempotent ends. It can
/// fail a call on cue, before or after doing the work (the answer lost on the way back).
/// </summary>
public sealed class FakeMembership : IMembershipRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<string, EnrollParticipantResponse> _answers = [];
    private readonly Dictionary<string, string> _participants = [];
    private readonly Dictionary<string, DateOnly> _ended = [];
    private int _nextNumber = 1;

    /// <summary>NIKs with coverage in force elsewhere (e.g. as a wage earner), with the programs in force.</summary>
    public Dictionary<string, Program[]> Covered { get; } = [];

    public List<EnrollParticipantRequest> EnrolRequests { get; } = [];

    public List<EndCoverageRequest> EndRequests { get; } = [];

    public int VerifyCalls { get; private set; }

    public int QuoteCalls { get; private set; }

    /// <summary>The next call of this name ("verify", "enrol", "quote", "end") fails with UNAVAILABLE before doing anything.</summary>
    public HashSet<string> FailBefore { get; } = [];

    /// <summary>The next call of this name does its work, then fails with UNAVAILABLE (the answer is lost).</summary>
    public HashSet<string> FailAfter { get; } = [];

    /// <summary>The next enrolment is refused with INVALID_ARGUMENT on this Membership field.</summary>
    public string? RefuseEnrolField { get; set; }

    /// <summary>The next quote is refused with INVALID_ARGUMENT (after the enrolment, which goes through).</summary>
    public bool RefuseQuote { get; set; }

    /// <summary>Enrolments are answered with their contribution quote, as Membership does since issue 27 (not before).</summary>
    public bool AnswersWithQuote { get; set; }

    public int Participants
    {
        get
        {
            lock (_lock) return _participants.Count;
        }
    }

    public Task<VerifyMembershipResponse> VerifyAsync(VerifyMembershipRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            VerifyCalls++;
            Fail("verify", FailBefore);
            var response = new VerifyMembershipResponse { Status = MembershipStatus.NotRegistered };
            if (Covered.TryGetValue(request.Nik, out var programs))
            {
                response = new VerifyMembershipResponse { Covered = true, Status = MembershipStatus.Active, Segment = Segment.Pu };
                response.ActivePrograms.Add(programs);
            }
            else if (_participants.TryGetValue(request.Nik, out var number) && !_ended.ContainsKey(number))
            {
                response = new VerifyMembershipResponse { Covered = true, Status = MembershipStatus.Active, Segment = Segment.Bpu };
                response.ActivePrograms.Add([Program.Jkk, Program.Jkm]);
            }

            return Task.FromResult(response);
        }
    }

    public Task<EnrollParticipantResponse> EnrolAsync(EnrollParticipantRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            EnrolRequests.Add(request.Clone());
            Fail("enrol", FailBefore);
            if (RefuseEnrolField is { } field)
            {
                RefuseEnrolField = null;
                var badRequest = new Google.Rpc.BadRequest();
                badRequest.FieldViolations.Add(new Google.Rpc.BadRequest.Types.FieldViolation { Field = field, Reason = "NAME_NOT_ALLOWED", Description = "Refused." });
                throw RpcErrors.WithDetails(StatusCode.InvalidArgument, "Invalid.", badRequest);
            }

            if (!_answers.TryGetValue(request.IdempotencyKey, out var answer))
            {
                answer = new EnrollParticipantResponse();
                if (Covered.TryGetValue(request.Nik, out var programs))
                {
                    answer.Outcome = EnrollOutcome.AlreadyCovered;
                    answer.ParticipantNumber = "99999999999";
                    answer.ActivePrograms.Add(programs);
                }
                else
                {
                    var isNew = !_participants.TryGetValue(request.Nik, out var number);
                    if (isNew) _participants[request.Nik] = number = (_nextNumber++).ToString("00000000000", System.Globalization.CultureInfo.InvariantCulture);
                    answer.Outcome = isNew ? EnrollOutcome.Registered : EnrollOutcome.CoverageAdded;
                    answer.ParticipantNumber = number!;
                    answer.StartedPrograms.Add(request.Programs);
                    answer.ActivePrograms.Add(request.Programs);
                }

                _answers[request.IdempotencyKey] = answer;
            }

            Fail("enrol", FailAfter);
            var response = answer.Clone();
            if (AnswersWithQuote && response.Outcome != EnrollOutcome.AlreadyCovered) response.ContributionQuote = BpuQuote(request.MonthlyIncomeRupiah, 2);
            return Task.FromResult(response);
        }
    }

    public Task<QuoteContributionResponse> QuoteAsync(QuoteContributionRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            QuoteCalls++;
            Fail("quote", FailBefore);
            if (RefuseQuote)
            {
                RefuseQuote = false;
                throw RpcErrors.Of(StatusCode.InvalidArgument, "Invalid quote.");
            }

            return Task.FromResult(BpuQuote(request.MonthlyIncomeRupiah, 0));
        }
    }

    /// <summary>BPU: JKK 1 % of income (Rp10,000 to Rp207,000) + JKM Rp6,800; <paramref name="marker"/> rupiah more tells which call priced it.</summary>
    private static QuoteContributionResponse BpuQuote(long monthlyIncome, long marker)
    {
        var jkk = Math.Clamp(monthlyIncome / 100, 10_000, 207_000);
        return new QuoteContributionResponse { WorkerTotalRupiah = jkk + 6_800 + marker, TotalRupiah = jkk + 6_800 + marker };
    }

    public Task<EndCoverageResponse> EndCoverageAsync(EndCoverageRequest request, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            EndRequests.Add(request.Clone());
            Fail("end", FailBefore);
            var endDate = new DateOnly(request.EndDate.Year, request.EndDate.Month, request.EndDate.Day);
            if (_ended.TryGetValue(request.ParticipantNumber, out var earlier) && earlier != endDate)
                throw RpcErrors.Of(StatusCode.FailedPrecondition, "Already ended on another day.");
            _ended[request.ParticipantNumber] = endDate;
            var response = new EndCoverageResponse();
            response.EndedPrograms.Add(request.Programs);
            Fail("end", FailAfter);
            return Task.FromResult(response);
        }
    }

    private static void Fail(string call, HashSet<string> cue)
    {
        if (cue.Remove(call)) throw RpcErrors.Of(StatusCode.Unavailable, "Membership is down (test).");
    }
}
