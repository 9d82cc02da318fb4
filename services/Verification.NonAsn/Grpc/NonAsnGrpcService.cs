using Google.Rpc;
using Verification.Domain;
using Microsoft.Extensions.DependencyInjection;
using Verification.Api.NonAsn.V1;
using Verification.Api;
using Verification.NonAsn.Features;
using Verification.NonAsn.Features.Change;
using Verification.NonAsn.Features.Register;
using Verification.NonAsn.Features.Statement;
using Verification.Platform.Access;
using Grpc.Core;
using RowError = Verification.Api.Common.V1.RowError;

namespace Verification.NonAsn.Grpc;

/// <summary>
/// <c>verification.nonasn.v1.NonAsnService</c>: check the caller's employer scope, validate, call the feature, map the
/// answer. An agency or local government acts only for its own employer numbers; any other is PERMISSION_DENIED and
/// audited (for a bulk upload, per row, with one audit record per foreign employer number per upload).
/// </summary>
public sealed class NonAsnGrpcService(
    IServiceScopeFactory scopes,
    EmployeeRegistration registration,
    EmploymentChanges changes,
    EmploymentReader reader,
    ContributionStatement statement,
    AccessDenials denials,
    NonAsnSettings settings,
    TimeProvider time) : NonAsnService.NonAsnServiceBase
{
    private const string ErrorDomain = "verification.bpjsketenagakerjaan.go.id";

    internal const string NotOwnEmployerMessage = "An agency or local government acts only for its own employer numbers.";

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override Task RegisterEmployees(IAsyncStreamReader<RegisterEmployeesRequest> requests, IServerStreamWriter<RegisterEmployeesResponse> responses, ServerCallContext context) =>
        new EmployeeUpload(scopes, denials, settings, time, requests, responses, context).RunAsync();

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task<RegisterEmployeeResponse> RegisterEmployee(RegisterEmployeeRequest request, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        var requests = new NonAsnRequests(time.JakartaToday());
        var employee = requests.Employee("employee", request.Employee);
        requests.ThrowIfAny();

        var member = context.Member();
        var outcome = (await registration.RegisterAsync([new RegistrationRow(request.EmployerNumber, employee!)], member.Code, context.CorrelationId(), context.CancellationToken))[0];
        return outcome switch
        {
            RowOutcome.Registered registered => new RegisterEmployeeResponse { Outcome = RegistrationOutcome.Registered, Employment = NonAsnMapping.ToApi(registered.Employment) },
            RowOutcome.Unchanged unchanged => new RegisterEmployeeResponse { Outcome = RegistrationOutcome.Unchanged, Employment = NonAsnMapping.ToApi(unchanged.Employment) },
            RowOutcome.Conflict conflict => throw RpcErrors.WithDetails(StatusCode.AlreadyExists, ConflictMessage(conflict),
                new ErrorInfo { Reason = "EMPLOYMENT_REGISTERED_WITH_OTHER_DATA", Domain = ErrorDomain, Metadata = { ["fields"] = string.Join(",", conflict.DifferingFields) } }),
            RowOutcome.Refused refused => throw Refused(refused),
            RowOutcome.MembershipUnavailable => throw Unavailable(),
            var other => throw new InvalidOperationException($"Unexpected registration outcome {other.GetType().Name}."),
        };
    }

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task<UpdateEmploymentResponse> UpdateEmployment(UpdateEmploymentRequest request, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        var command = new NonAsnRequests(time.JakartaToday()).Update(request, context.Member().Code, context.CorrelationId());
        var changed = Changed(await changes.UpdateAsync(command, context.CancellationToken));
        return new UpdateEmploymentResponse { Employment = NonAsnMapping.ToApi(changed) };
    }

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task<EndEmploymentResponse> EndEmployment(EndEmploymentRequest request, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        var command = new NonAsnRequests(time.JakartaToday()).End(request, context.Member().Code, context.CorrelationId());
        var ended = Changed(await changes.EndAsync(command, context.CancellationToken));
        var response = new EndEmploymentResponse { Employment = NonAsnMapping.ToApi(ended) };
        response.EndedPrograms.Add(ProgramCodes.Split(ended.EndedPrograms));
        return response;
    }

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task ListEmployees(ListEmployeesRequest request, IServerStreamWriter<ListEmployeesResponse> responseStream, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        DateOnly? day = request.ActiveOnly ? time.JakartaToday() : null;
        await foreach (var record in reader.ListAsync(request.EmployerNumber, day).WithCancellation(context.CancellationToken))
            await responseStream.WriteAsync(new ListEmployeesResponse { Employment = NonAsnMapping.ToApi(record) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task GetContributionStatement(GetContributionStatementRequest request, IServerStreamWriter<GetContributionStatementResponse> responseStream, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        var (year, month) = new NonAsnRequests(time.JakartaToday()).Month("month", request.Month);
        var employees = await statement.ComputeAsync(request.EmployerNumber, year, month, context.CancellationToken) switch
        {
            StatementResult.Computed computed => computed.Employees,
            StatementResult.NoRates noRates => throw RpcErrors.WithDetails(StatusCode.FailedPrecondition, noRates.Message,
                new ErrorInfo { Reason = "NO_RATES_FOR_MONTH", Domain = ErrorDomain }),
            StatementResult.MembershipUnavailable => throw Unavailable(),
            var other => throw new InvalidOperationException($"Unexpected statement result {other.GetType().Name}."),
        };
        foreach (var employee in employees)
            await responseStream.WriteAsync(new GetContributionStatementResponse { Employee = NonAsnMapping.ToApi(employee) }, context.CancellationToken);
        await responseStream.WriteAsync(new GetContributionStatementResponse { Totals = ContributionStatement.Totals(employees) }, context.CancellationToken);
    }

    /// <summary>A bulk row's outcome in the API's terms (an error row carries what the unary call's status would).</summary>
    internal static void Fill(EmployeeRowResult result, RowOutcome outcome)
    {
        switch (outcome)
        {
            case RowOutcome.Registered registered:
                result.Outcome = RegistrationOutcome.Registered;
                result.EmploymentId = registered.Employment.EmploymentId;
                result.ParticipantNumber = registered.Employment.ParticipantNumber;
                break;
            case RowOutcome.Unchanged unchanged:
                result.Outcome = RegistrationOutcome.Unchanged;
                result.EmploymentId = unchanged.Employment.EmploymentId;
                result.ParticipantNumber = unchanged.Employment.ParticipantNumber;
                break;
            case RowOutcome.Conflict conflict:
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = new RowError { Code = Code.AlreadyExists, Message = ConflictMessage(conflict) };
                break;
            case RowOutcome.Refused refused:
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = new RowError { Code = Code.InvalidArgument, Message = "The participant registry refused the employee's data; see the field violations." };
                result.Error.FieldViolations.Add(refused.Violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Reason = v.Reason, Description = v.Description }));
                break;
            case RowOutcome.MembershipUnavailable:
                result.Outcome = RegistrationOutcome.Rejected;
                result.Error = new RowError { Code = Code.Unavailable, Message = "The participant registry is unavailable; re-send this row later (re-sending is safe)." };
                break;
            default:
                throw new InvalidOperationException($"Unexpected registration outcome {outcome.GetType().Name}.");
        }
    }

    private static string ConflictMessage(RowOutcome.Conflict conflict) => conflict.DifferingFields.Count > 0
        ? $"This employment (employer number, NIK, contract start) was already registered with different data; differing fields: {string.Join(", ", conflict.DifferingFields)}."
        : "This employment (employer number, NIK, contract start) was already sent to the registry with different data.";

    private Data.EmploymentRecord Changed(ChangeResult result) => result switch
    {
        ChangeResult.Changed changed => changed.Employment,
        ChangeResult.NotFound => throw RpcErrors.Of(StatusCode.NotFound, "This employer number has no such employment."),
        ChangeResult.Precondition precondition => throw RpcErrors.WithDetails(StatusCode.FailedPrecondition, precondition.Message,
            new ErrorInfo { Reason = precondition.Reason, Domain = ErrorDomain }),
        ChangeResult.Invalid invalid => throw RpcErrors.WithDetails(StatusCode.InvalidArgument, "The request has invalid fields; see the field violations.",
            new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = invalid.Field, Reason = invalid.Reason, Description = invalid.Description } } }),
        ChangeResult.MembershipUnavailable => throw Unavailable(),
        var other => throw new InvalidOperationException($"Unexpected change result {other.GetType().Name}."),
    };

    /// <summary>Well-formed and the caller's own; another member's number is denied and audited.</summary>
    private async Task EnsureOwnEmployerAsync(string employerNumber, ServerCallContext context)
    {
        var requests = new NonAsnRequests(time.JakartaToday());
        requests.EmployerNumber("employer_number", employerNumber);
        requests.ThrowIfAny();
        if (context.Member().ActsForEmployer(employerNumber)) return;
        await denials.RecordAsync(context, "employer number of another member", $"nonasn employer {employerNumber}", context.CancellationToken);
        throw AccessDenials.Denied(NotOwnEmployerMessage, "EMPLOYER_NUMBER_NOT_OWN");
    }

    private RpcException Unavailable() => RpcErrors.RetryLater(
        StatusCode.Unavailable, "The participant registry is unavailable; retry the same request after the given delay.", settings.RetryDelay);

    private static RpcException Refused(RowOutcome.Refused refused)
    {
        var badRequest = new BadRequest();
        foreach (var (field, reason, description) in refused.Violations)
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Reason = reason, Description = description });
        return RpcErrors.WithDetails(StatusCode.InvalidArgument, "The participant registry refused the employee's data; see the field violations.", badRequest);
    }
}
