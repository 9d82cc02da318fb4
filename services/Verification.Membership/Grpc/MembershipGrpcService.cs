using System.Runtime.CompilerServices;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Features;
using Verification.Membership.Features.EndCoverage;
using Verification.Membership.Features.Enrol;
using Verification.Membership.Features.Lookup;
using Verification.Membership.Features.Verify;
using Verification.Platform.Access;
using Grpc.Core;
using Verification.Api;

namespace Verification.Membership.Grpc;

/// <summary>The wire adapter of <c>verification.membership.v1.MembershipService</c>: validate, call the feature, map back.</summary>
public sealed class MembershipGrpcService(
    VerificationCoalescer coalescer,
    BatchVerification batches,
    ParticipantEnrolment enrolment,
    EnrolmentCoalescer enrolments,
    CoverageEnding coverageEnding,
    ParticipantLookup participants,
    ContributionRateTable rates,
    ItemBudget budget,
    TimeProvider time) : MembershipService.MembershipServiceBase
{
    /// <summary>Longest row id a bulk verification accepts.</summary>
    public const int MaxRowIdLength = 64;

    [RpcRoles(MemberRole.Bank, MemberRole.Agency, MemberRole.LocalGovernment, MemberRole.PrakerjaPmo, MemberRole.Auditor, MemberRole.InternalService)]
    public override async Task<VerifyMembershipResponse> VerifyMembership(VerifyMembershipRequest request, ServerCallContext context)
    {
        var today = time.JakartaToday();
        var violations = new FieldViolations(today);
        var nik = violations.Nik("nik", request.Nik);
        var program = violations.OptionalProgram("program", request.Program);
        var day = violations.OptionalDate("as_of_date", request.AsOfDate, notInFuture: true) ?? today;
        violations.ThrowIfAny();

        return (await coalescer.StandingAsync(nik!, program, day, context.CancellationToken)).ToResponse();
    }

    [RpcRoles(MemberRole.Bank, MemberRole.Agency, MemberRole.LocalGovernment, MemberRole.PrakerjaPmo, MemberRole.Auditor, MemberRole.InternalService)]
    public override Task VerifyMembershipBatch(
        IAsyncStreamReader<VerifyMembershipBatchRequest> requestStream, IServerStreamWriter<VerifyMembershipBatchResponse> responseStream, ServerCallContext context) =>
        batches.AnswerAllAsync(ReadChunksAsync(requestStream, context, context.CancellationToken), (chunk, answers, cancellationToken) =>
        {
            var response = new VerifyMembershipBatchResponse();
            for (var i = 0; i < answers.Length; i++)
            {
                response.Results.Add(answers[i].Problems is { } problems
                    ? new VerifyMembershipBatchResult { RowId = chunk.RowIds[i], InvalidNikReason = problems.ToApi() }
                    : answers[i].Standing.ToBatchResult(chunk.RowIds[i]));
            }

            return responseStream.WriteAsync(response, cancellationToken);
        }, context.CancellationToken);

    /// <summary>
    /// The chunks of a bulk verification as they arrive; a malformed chunk ends the stream with INVALID_ARGUMENT. Each NIK is
    /// charged to the member's item budget before its chunk is checked: over it the stream slows, then ends RESOURCE_EXHAUSTED.
    /// </summary>
    private async IAsyncEnumerable<VerificationChunk> ReadChunksAsync(
        IAsyncStreamReader<VerifyMembershipBatchRequest> requests, ServerCallContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await requests.MoveNext(cancellationToken))
        {
            var chunk = requests.Current;
            var today = time.JakartaToday();
            var violations = new FieldViolations(today);
            var program = violations.OptionalProgram("program", chunk.Program);
            var day = violations.OptionalDate("as_of_date", chunk.AsOfDate, notInFuture: true) ?? today;
            var rowIds = new string[chunk.Items.Count];
            var niks = new string[chunk.Items.Count];
            for (var i = 0; i < chunk.Items.Count; i++)
            {
                (rowIds[i], niks[i]) = (chunk.Items[i].RowId, chunk.Items[i].Nik);
                if (rowIds[i].Length > MaxRowIdLength) violations.Add($"items[{i}].row_id", "ROW_ID_TOO_LONG", $"A row id has at most {MaxRowIdLength} characters.");
            }

            violations.ThrowIfAny();
            await budget.ChargeAsync(context, niks.Length, cancellationToken);
            yield return new VerificationChunk(rowIds, niks, program, day);
        }
    }

    [RpcRoles(MemberRole.InternalService)]
    public override async Task<EnrollParticipantResponse> EnrollParticipant(EnrollParticipantRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations(time.JakartaToday());
        var command = EnrolmentRequestReader.Read(request, violations, context.Member().Code, context.CorrelationId());
        violations.ThrowIfAny();

        return await enrolments.EnrolAsync(Relayed(command!, context), context.CancellationToken) switch
        {
            EnrolmentResult.Answered answered => WithQuote(answered.Answer.ToApi(), command!, request.Programs),
            EnrolmentResult.KeyReused => throw RpcErrors.Of(StatusCode.AlreadyExists, KeyReusedMessage),
            var other => throw new InvalidOperationException($"Unexpected enrolment result {other.GetType().Name}."),
        };
    }

    /// <summary>
    /// The answer with a BPU enrolment's monthly contribution from the first of its start month, as QuoteContribution gives
    /// it; computed from the request, not stored with the answer, so a repeat of the key gets the same quote.
    /// </summary>
    private EnrollParticipantResponse WithQuote(EnrollParticipantResponse answer, EnrolmentCommand command, IEnumerable<Program> asked)
    {
        if (command.Segment != ParticipantSegment.Bpu) return answer;
        var quote = ContributionQuote.Compute(
            new ContributionQuoteRequest(command.Segment, command.Programs.ToList(), command.MonthlyIncome, null, new DateOnly(command.StartDate.Year, command.StartDate.Month, 1)),
            rates);
        if (quote.Quote is { } priced) answer.ContributionQuote = ToResponse(priced, asked);
        return answer;
    }

    /// <summary>A command made for the partner a module relayed, so the events name the partner and the module.</summary>
    private static EnrolmentCommand Relayed(EnrolmentCommand command, ServerCallContext context) =>
        context.RelayedBy() is { } module ? command with { OnBehalfOf = context.ActingMemberCode(), RelayedBy = module } : command;

    private const string KeyReusedMessage = "This idempotency key was already used for a different enrolment request.";

    /// <summary>Most items one EnrollParticipants call takes: one transaction's worth.</summary>
    public const int MaxEnrolmentsPerCall = 1000;

    [RpcRoles(MemberRole.InternalService)]
    public override async Task<EnrollParticipantsResponse> EnrollParticipants(EnrollParticipantsRequest request, ServerCallContext context)
    {
        var today = time.JakartaToday();
        if (request.Items.Count is 0 or > MaxEnrolmentsPerCall)
        {
            var call = new FieldViolations(today);
            call.Add("items", "ITEMS_COUNT_INVALID", $"Send 1 to {MaxEnrolmentsPerCall} enrolments per call.");
            call.ThrowIfAny();
        }

        var memberCode = context.Member().Code;
        var correlationId = context.CorrelationId();
        var results = new EnrollParticipantsResult[request.Items.Count];
        var commands = new List<EnrolmentCommand>(request.Items.Count);
        var positions = new List<int>(request.Items.Count);
        for (var i = 0; i < request.Items.Count; i++)
        {
            // Each item is read exactly as EnrollParticipant reads its request; its problems are its own answer.
            var violations = new FieldViolations(today);
            var command = EnrolmentRequestReader.Read(request.Items[i], violations, memberCode, correlationId);
            if (command is null)
            {
                var error = new RowError { Code = Google.Rpc.Code.InvalidArgument, Message = "The enrolment has invalid fields; see the field violations." };
                error.FieldViolations.Add(violations.All.ToBadRequest().FieldViolations);
                results[i] = new EnrollParticipantsResult { Error = error };
                continue;
            }

            commands.Add(Relayed(command, context));
            positions.Add(i);
        }

        var answers = await enrolment.EnrolManyAsync(commands, context.CancellationToken);
        for (var j = 0; j < answers.Count; j++)
        {
            results[positions[j]] = answers[j] switch
            {
                EnrolmentResult.Answered answered => new EnrollParticipantsResult { Enrolled = WithQuote(answered.Answer.ToApi(), commands[j], request.Items[positions[j]].Programs) },
                EnrolmentResult.KeyReused => new EnrollParticipantsResult { Error = new RowError { Code = Google.Rpc.Code.AlreadyExists, Message = KeyReusedMessage } },
                var other => throw new InvalidOperationException($"Unexpected enrolment result {other.GetType().Name}."),
            };
        }

        var response = new EnrollParticipantsResponse();
        response.Results.Add(results);
        return response;
    }

    [RpcRoles(MemberRole.InternalService)]
    public override async Task<EndCoverageResponse> EndCoverage(EndCoverageRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations(time.JakartaToday());
        var command = EndCommand(request, violations, context);
        violations.ThrowIfAny();

        var result = await coverageEnding.EndAsync(command!, context.CancellationToken);
        if (!result.Found) throw RpcErrors.Of(StatusCode.NotFound, ParticipantNotFoundMessage);
        if (result.Conflict is { } conflict) throw RpcErrors.Of(StatusCode.FailedPrecondition, conflict);
        return EndedResponse(result);
    }

    /// <summary>Most items one EndCoverages call takes: one transaction's worth.</summary>
    public const int MaxEndsPerCall = 1000;

    [RpcRoles(MemberRole.InternalService)]
    public override async Task<EndCoveragesResponse> EndCoverages(EndCoveragesRequest request, ServerCallContext context)
    {
        var today = time.JakartaToday();
        if (request.Items.Count is 0 or > MaxEndsPerCall)
        {
            var call = new FieldViolations(today);
            call.Add("items", "ITEMS_COUNT_INVALID", $"Send 1 to {MaxEndsPerCall} coverage ends per call.");
            call.ThrowIfAny();
        }

        var results = new EndCoveragesResult[request.Items.Count];
        var commands = new List<CoverageEndCommand>(request.Items.Count);
        var positions = new List<int>(request.Items.Count);
        for (var i = 0; i < request.Items.Count; i++)
        {
            // Each item is read exactly as EndCoverage reads its request; its problems are its own answer.
            var violations = new FieldViolations(today);
            var command = EndCommand(request.Items[i], violations, context);
            if (command is null)
            {
                var error = new RowError { Code = Google.Rpc.Code.InvalidArgument, Message = "The coverage end has invalid fields; see the field violations." };
                error.FieldViolations.Add(violations.All.ToBadRequest().FieldViolations);
                results[i] = new EndCoveragesResult { Error = error };
                continue;
            }

            commands.Add(command);
            positions.Add(i);
        }

        var answers = await coverageEnding.EndManyAsync(commands, context.CancellationToken);
        for (var j = 0; j < answers.Count; j++)
        {
            var answer = answers[j];
            results[positions[j]] = !answer.Found
                ? new EndCoveragesResult { Error = new RowError { Code = Google.Rpc.Code.NotFound, Message = ParticipantNotFoundMessage } }
                : answer.Conflict is { } conflict
                    ? new EndCoveragesResult { Error = new RowError { Code = Google.Rpc.Code.FailedPrecondition, Message = conflict } }
                    : new EndCoveragesResult { Ended = EndedResponse(answer) };
        }

        var response = new EndCoveragesResponse();
        response.Results.Add(results);
        return response;
    }

    private const string ParticipantNotFoundMessage = "No participant has this participant number.";

    /// <summary>Checks every rule of a coverage end and reads it into a command, or null with every problem in <paramref name="violations"/>.</summary>
    private static CoverageEndCommand? EndCommand(EndCoverageRequest request, FieldViolations violations, ServerCallContext context)
    {
        if (!ParticipantNumber.TryParse(request.ParticipantNumber, out var number))
            violations.Add("participant_number", "PARTICIPANT_NUMBER_INVALID", "A participant number is 11 digits ending in a valid Damm check digit.");
        var programs = violations.Programs("programs", request.Programs);
        var source = EnrolmentRequestReader.Source(violations, request.SourceCase == EndCoverageRequest.SourceOneofCase.EmployerNumber ? request.EmployerNumber : null,
            request.SourceCase == EndCoverageRequest.SourceOneofCase.Channel ? request.Channel : null, request.ChannelReference);
        var endDate = violations.RequiredDate("end_date", request.EndDate, notInFuture: false);
        // A contract's new end needs no reason: the coverage keeps ending with its contract.
        var reason = request.ContractEndChange ? Domain.CoverageEndReason.EmploymentEnded : request.Reason.ToDomain();
        if (reason is null) violations.Add("reason", "REASON_MISSING", "Say why the coverage ends (COVERAGE_END_REASON_...).");
        if (violations.Any) return null;
        return new CoverageEndCommand(context.Member().Code, context.CorrelationId(), number!, programs, source!, endDate!.Value, reason!.Value,
            request.ContractEndChange, context.RelayedBy() is null ? null : context.ActingMemberCode(), context.RelayedBy());
    }

    private static EndCoverageResponse EndedResponse(CoverageEndResult result)
    {
        var response = new EndCoverageResponse();
        response.EndedPrograms.Add(result.Ended.ToApi());
        response.ActivePrograms.Add(result.ActiveToday.ToApi());
        return response;
    }

    [RpcRoles(MemberRole.Bank)]
    public override async Task<CheckHousingBenefitEligibilityResponse> CheckHousingBenefitEligibility(CheckHousingBenefitEligibilityRequest request, ServerCallContext context)
    {
        var today = time.JakartaToday();
        var violations = new FieldViolations(today);
        var nik = violations.Nik("nik", request.Nik);
        var day = violations.OptionalDate("as_of_date", request.AsOfDate, notInFuture: true) ?? today;
        violations.ThrowIfAny();

        var unmet = await coalescer.HousingBenefitShortfallsAsync(nik!, day, context.CancellationToken);
        var response = new CheckHousingBenefitEligibilityResponse { Eligible = unmet.Count == 0 };
        response.UnmetCriteria.Add(unmet.Select(shortfall => shortfall switch
        {
            HousingBenefitShortfall.NotRegistered => HousingBenefitCriterion.Registered,
            HousingBenefitShortfall.MemberUnder12Months => HousingBenefitCriterion.Member12Months,
            _ => HousingBenefitCriterion.JhtActive,
        }));
        return response;
    }

    [RpcRoles(MemberRole.Bank, MemberRole.Agency, MemberRole.LocalGovernment, MemberRole.PrakerjaPmo, MemberRole.Auditor, MemberRole.InternalService)]
    public override Task<QuoteContributionResponse> QuoteContribution(QuoteContributionRequest request, ServerCallContext context)
    {
        var today = time.JakartaToday();
        var violations = new FieldViolations(today);
        ParticipantSegment? segment = request.Segment switch
        {
            Segment.Pu => ParticipantSegment.Pu,
            Segment.Bpu => ParticipantSegment.Bpu,
            _ => null,
        };
        if (request.Segment is Segment.Jakon or Segment.Pmi) violations.Add("segment", "SEGMENT_NOT_SUPPORTED", "Quotes are given for PU and BPU; Jakon and PMI are priced on other bases.");
        else if (segment is null) violations.Add("segment", "SEGMENT_MISSING", "The segment is SEGMENT_PU or SEGMENT_BPU.");
        var programs = violations.Programs("programs", request.Programs);
        violations.Money("monthly_income_rupiah", request.MonthlyIncomeRupiah);
        if (!System.Enum.IsDefined(request.JkkRiskClass)) violations.Add("jkk_risk_class", "RISK_CLASS_UNKNOWN", "The JKK risk class is JKK_RISK_CLASS_VERY_LOW to JKK_RISK_CLASS_VERY_HIGH.");
        var day = violations.OptionalDate("effective_date", request.EffectiveDate, notInFuture: false) ?? today;
        violations.ThrowIfAny();

        // UNSPECIFIED is the lowest class; BPU rates have no class.
        int? riskClass = segment == ParticipantSegment.Pu ? Math.Max(1, (int)request.JkkRiskClass) : null;
        var quote = ContributionQuote.Compute(
            new ContributionQuoteRequest(segment!.Value, programs.ToList(), request.MonthlyIncomeRupiah, riskClass, day),
            rates);
        if (!quote.IsSuccess)
        {
            foreach (var problem in quote.Problems)
            {
                var field = problem.Code switch
                {
                    "INCOME_NEGATIVE" => "monthly_income_rupiah",
                    "RISK_CLASS_OUT_OF_RANGE" or "RISK_CLASS_REQUIRED" => "jkk_risk_class",
                    "NO_RATE_IN_FORCE" or "NO_WAGE_CAP_IN_FORCE" => "effective_date",
                    "SEGMENT_NOT_SUPPORTED" => "segment",
                    _ => "programs",
                };
                violations.Add(field, problem.Code, problem.Description);
            }

            violations.ThrowIfAny();
        }

        return Task.FromResult(ToResponse(quote.Quote!, request.Programs));
    }

    /// <summary>A quote as the API's message, its lines in the order the programs were asked for, as the proto promises.</summary>
    private static QuoteContributionResponse ToResponse(ContributionQuote quote, IEnumerable<Program> asked)
    {
        var response = new QuoteContributionResponse();
        foreach (var program in asked)
        {
            var line = quote.Programs.Single(p => p.Program.ToApi() == program);
            response.Lines.Add(new ContributionLine
            {
                Program = program,
                EmployerShareRupiah = line.EmployerShare,
                WorkerShareRupiah = line.WorkerShare,
                FundedElsewhereRupiah = line.FundedElsewhere,
                TotalRupiah = line.Total,
            });
        }

        response.EmployerTotalRupiah = quote.EmployerTotal;
        response.WorkerTotalRupiah = quote.WorkerTotal;
        response.TotalRupiah = quote.Total;
        response.FundedElsewhereTotalRupiah = quote.FundedElsewhereTotal;
        return response;
    }

    [RpcRoles(MemberRole.InternalService, MemberRole.Auditor)]
    public override async Task<GetParticipantResponse> GetParticipant(GetParticipantRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations(time.JakartaToday());
        ParticipantNumber? number = null;
        Nik? nik = null;
        switch (request.KeyCase)
        {
            case GetParticipantRequest.KeyOneofCase.ParticipantNumber:
                if (!ParticipantNumber.TryParse(request.ParticipantNumber, out number))
                    violations.Add("participant_number", "PARTICIPANT_NUMBER_INVALID", "A participant number is 11 digits ending in a valid Damm check digit.");
                break;
            case GetParticipantRequest.KeyOneofCase.Nik:
                nik = violations.Nik("nik", request.Nik);
                break;
            default:
                violations.Add("key", "KEY_MISSING", "Give a participant_number or a nik.");
                break;
        }

        violations.ThrowIfAny();
        var participant = number is not null
            ? await participants.FindAsync(number, context.CancellationToken)
            : await participants.FindAsync(nik!, context.CancellationToken);
        if (participant is null) throw RpcErrors.Of(StatusCode.NotFound, "No such participant.");
        var answer = participant.ToApi(time.JakartaToday());
        // An audit needs the participant and its coverages, not who the person is: NIK and name masked (AuditorView).
        if (context.Member().Role == MemberRole.Auditor) answer = AuditorView.Of(answer);
        return new GetParticipantResponse { Participant = answer, ReadTime = ApiMapping.Now(time) };
    }
}
