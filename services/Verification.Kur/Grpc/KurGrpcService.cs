using Google.Rpc;
using Verification.Domain;
using Verification.Api.Kur.V1;
using Verification.Api;
using Verification.Kur.Domain;
using Verification.Kur.Features.Cancel;
using Verification.Kur.Features.Enrol;
using Verification.Kur.Features.Reconcile;
using Verification.Kur.Features.Report;
using Verification.Platform.Access;
using Grpc.Core;

namespace Verification.Kur.Grpc;

/// <summary>
/// <c>verification.kur.v1.KurService</c>: check the caller's bank scope, validate, call the feature, map the answer.
/// A bank acts only for its own bank code; any other is PERMISSION_DENIED and audited.
/// </summary>
public sealed class KurGrpcService(
    BorrowerEnrolment enrolment,
    EnrolmentCancellation cancellation,
    EnrolmentReader reader,
    CoverageReport report,
    AccessDenials denials,
    KurReferenceData referenceData,
    KurSettings settings,
    TimeProvider time) : KurService.KurServiceBase
{
    private const string ErrorDomain = "verification.bpjsketenagakerjaan.go.id";

    [RpcRoles(MemberRole.Bank)]
    public override async Task<EnrolBorrowerResponse> EnrolBorrower(EnrolBorrowerRequest request, ServerCallContext context)
    {
        var member = context.Member();
        await EnsureOwnBankAsync(request.BankCode, request.LoanReference, context);
        var command = new KurRequests(time.JakartaToday()).Enrolment(request, member.Code, context.CorrelationId(), referenceData);
        return await enrolment.EnrolAsync(command, context.CancellationToken) switch
        {
            EnrolmentResult.Answered answered => KurMapping.ToResponse(answered.Record, command.Borrower),
            EnrolmentResult.Conflict conflict => throw RpcErrors.WithDetails(
                StatusCode.AlreadyExists,
                $"This loan reference was already used with different data; differing fields: {string.Join(", ", conflict.DifferingFields)}.",
                new ErrorInfo { Reason = "LOAN_REFERENCE_REUSED", Domain = ErrorDomain, Metadata = { ["fields"] = string.Join(",", conflict.DifferingFields) } }),
            EnrolmentResult.MembershipUnavailable => throw Unavailable(),
            EnrolmentResult.Refused refused => throw Refused(refused),
            var other => throw new InvalidOperationException($"Unexpected enrolment result {other.GetType().Name}."),
        };
    }

    [RpcRoles(MemberRole.Bank)]
    public override async Task<GetEnrolmentResponse> GetEnrolment(GetEnrolmentRequest request, ServerCallContext context)
    {
        var bankCode = await EnsureOwnBankAsync(request.BankCode, request.LoanReference, context);
        var requests = new KurRequests(time.JakartaToday());
        requests.LoanReference("loan_reference", request.LoanReference);
        requests.ThrowIfAny();
        var record = await reader.GetAsync(bankCode, request.LoanReference, context.CancellationToken)
            ?? throw RpcErrors.Of(StatusCode.NotFound, "Your bank has no enrolment record for this loan reference.");
        return new GetEnrolmentResponse { Enrolment = KurMapping.ToApi(record) };
    }

    [RpcRoles(MemberRole.Bank)]
    public override async Task ListEnrolments(ListEnrolmentsRequest request, IServerStreamWriter<ListEnrolmentsResponse> responseStream, ServerCallContext context)
    {
        var bankCode = await EnsureOwnBankAsync(request.BankCode, "", context);
        var (first, last) = new KurRequests(time.JakartaToday()).DateRange("create_date_range", request.CreateDateRange);
        await foreach (var record in reader.ListAsync(bankCode, first, last).WithCancellation(context.CancellationToken))
            await responseStream.WriteAsync(new ListEnrolmentsResponse { Enrolment = KurMapping.ToApi(record) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Bank)]
    public override async Task<CancelEnrolmentResponse> CancelEnrolment(CancelEnrolmentRequest request, ServerCallContext context)
    {
        var member = context.Member();
        await EnsureOwnBankAsync(request.BankCode, request.LoanReference, context);
        var command = new KurRequests(time.JakartaToday()).Cancellation(request, member.Code, context.CorrelationId());
        return await cancellation.CancelAsync(command, context.CancellationToken) switch
        {
            CancellationResult.Cancelled cancelled => CancelResponse(cancelled),
            CancellationResult.NotFound => throw RpcErrors.Of(StatusCode.NotFound, "Your bank has no enrolment record for this loan reference."),
            CancellationResult.EnrolmentIncomplete => throw RpcErrors.WithDetails(StatusCode.FailedPrecondition,
                "The enrolment of this loan did not complete; retry EnrolBorrower with the same request, then cancel.",
                new ErrorInfo { Reason = "ENROLMENT_INCOMPLETE", Domain = ErrorDomain }),
            CancellationResult.AlreadyDisbursed => throw RpcErrors.WithDetails(StatusCode.FailedPrecondition,
                "The loan is disbursed (today is on or after its disbursement date): its enrolment can no longer be cancelled.",
                new ErrorInfo { Reason = "LOAN_DISBURSED", Domain = ErrorDomain }),
            CancellationResult.MembershipUnavailable => throw Unavailable(),
            var other => throw new InvalidOperationException($"Unexpected cancellation result {other.GetType().Name}."),
        };
    }

    [RpcRoles(MemberRole.Bank)]
    public override async Task<GetCoverageReportResponse> GetCoverageReport(GetCoverageReportRequest request, ServerCallContext context)
    {
        var bankCode = context.Member().BankCode ?? throw await DenyAsync(context, "a bank member without a bank code", DeniedResource.None);
        var requests = new KurRequests(time.JakartaToday());
        var (first, last) = requests.MonthRange(request.StartMonth, request.EndMonth);
        var scheme = requests.Scheme("scheme", request.Scheme, required: false);
        requests.ThrowIfAny();
        var lines = await report.BuildAsync(bankCode, first, last, scheme, context.CancellationToken);
        var response = new GetCoverageReportResponse();
        response.Rows.Add(lines.Select(KurMapping.ToApi));
        return response;
    }

    private static CancelEnrolmentResponse CancelResponse(CancellationResult.Cancelled cancelled)
    {
        var response = new CancelEnrolmentResponse { Enrolment = KurMapping.ToApi(cancelled.Record) };
        response.EndedPrograms.Add(ProgramCodes.Split(cancelled.Record.EndedPrograms));
        return response;
    }

    /// <summary>The caller's bank code when the request names it or leaves it empty; any other code is denied and audited.</summary>
    private async Task<string> EnsureOwnBankAsync(string requested, string loanReference, ServerCallContext context)
    {
        var own = context.Member().BankCode;
        if (own is not null && (requested.Length == 0 || requested == own)) return own;
        // The resource names what was refused; a code or loan reference that is not well-formed is left out rather than echoed.
        var resource = new DeniedResource(
            BankCode: KurRequests.IsBankCode(requested) ? requested : null,
            LoanReference: KurRequests.IsLoanReference(loanReference) ? loanReference : null);
        throw await DenyAsync(context, own is null ? "a bank member without a bank code" : "bank code of another bank", resource);
    }

    private async Task<RpcException> DenyAsync(ServerCallContext context, string reason, DeniedResource resource)
    {
        await denials.RecordAsync(context, "BANK_CODE_NOT_OWN", reason, resource, context.CancellationToken);
        return AccessDenials.Denied("A bank acts only for its own bank code.", "BANK_CODE_NOT_OWN");
    }

    private RpcException Unavailable() => RpcErrors.RetryLater(
        StatusCode.Unavailable, "The participant registry is unavailable; retry the same request after the given delay.", settings.RetryDelay);

    private static RpcException Refused(EnrolmentResult.Refused refused)
    {
        var badRequest = new BadRequest();
        foreach (var (field, reason, description) in refused.Violations)
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Reason = reason, Description = description });
        return RpcErrors.WithDetails(StatusCode.InvalidArgument, "The participant registry refused the borrower's data; see the field violations.", badRequest);
    }
}
