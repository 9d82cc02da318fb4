using System.Runtime.CompilerServices;
using Google.Rpc;
using Verification.Domain;
using Verification.Api.NonAsn.V1;
using Verification.Api;
using Verification.NonAsn.Features;
using Verification.NonAsn.Features.Change;
using Verification.NonAsn.Features.Register;
using Verification.NonAsn.Features.Statement;
using Verification.Platform.Access;
using Grpc.Core;

namespace Verification.NonAsn.Grpc;

/// <summary>
/// <c>verification.nonasn.v1.NonAsnService</c>: check the caller's employer scope, validate, call the feature, map the
/// answer. An agency or local government acts only for its own employer numbers; any other is PERMISSION_DENIED and
/// audited (for a bulk upload, per row, with one audit record per foreign employer number per upload).
/// </summary>
public sealed class NonAsnGrpcService(
    EmployeeUpload upload,
    EmployeeRegistration registration,
    EmploymentChanges changes,
    EmploymentReader reader,
    ContributionStatement statement,
    AccessDenials denials,
    ItemBudget budget,
    NonAsnSettings settings,
    TimeProvider time) : NonAsnService.NonAsnServiceBase
{
    private const string ErrorDomain = "verification.bpjsketenagakerjaan.go.id";

    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task RegisterEmployees(IAsyncStreamReader<RegisterEmployeesRequest> requestStream, IServerStreamWriter<RegisterEmployeesResponse> responseStream, ServerCallContext context)
    {
        var summary = await upload.RunAsync(
            UploadRowsAsync(requestStream, context), context.Member().Code, context.CorrelationId(), (rows, ct) => WriteRowsAsync(responseStream, rows, ct), context.CancellationToken);
        await responseStream.WriteAsync(new RegisterEmployeesResponse { Summary = NonAsnMapping.ToApi(summary) }, context.CancellationToken);
    }

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
            RowOutcome.Registered registered => new RegisterEmployeeResponse { Outcome = RegistrationOutcome.Registered, Employment = NonAsnMapping.ToApi(registered.Employment), NikWarnings = { NonAsnMapping.NikWarnings(registered.Employment) } },
            RowOutcome.Unchanged unchanged => new RegisterEmployeeResponse { Outcome = RegistrationOutcome.Unchanged, Employment = NonAsnMapping.ToApi(unchanged.Employment), NikWarnings = { NonAsnMapping.NikWarnings(unchanged.Employment) } },
            RowOutcome.Conflict conflict => throw RpcErrors.WithDetails(StatusCode.AlreadyExists, NonAsnMapping.ConflictMessage(conflict),
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
        await foreach (var record in reader.ListAsync(request.EmployerNumber, request.ActiveOnly, context.CancellationToken))
            await responseStream.WriteAsync(new ListEmployeesResponse { Employment = NonAsnMapping.ToApi(record) }, context.CancellationToken);
    }

    [RpcRoles(MemberRole.Agency, MemberRole.LocalGovernment)]
    public override async Task GetContributionStatement(GetContributionStatementRequest request, IServerStreamWriter<GetContributionStatementResponse> responseStream, ServerCallContext context)
    {
        await EnsureOwnEmployerAsync(request.EmployerNumber, context);
        var (year, month) = new NonAsnRequests(time.JakartaToday()).Month("month", request.Month);
        var computed = await statement.ComputeAsync(request.EmployerNumber, year, month, context.CancellationToken) switch
        {
            StatementResult.Computed answer => answer,
            StatementResult.NoRates noRates => throw RpcErrors.WithDetails(StatusCode.FailedPrecondition, noRates.Message,
                new ErrorInfo { Reason = "NO_RATES_FOR_MONTH", Domain = ErrorDomain }),
            StatementResult.MembershipUnavailable => throw Unavailable(),
            var other => throw new InvalidOperationException($"Unexpected statement result {other.GetType().Name}."),
        };
        foreach (var employee in computed.Employees)
            await responseStream.WriteAsync(new GetContributionStatementResponse { Employee = NonAsnMapping.ToApi(employee) }, context.CancellationToken);
        await responseStream.WriteAsync(new GetContributionStatementResponse { Totals = NonAsnMapping.ToApi(computed.Totals) }, context.CancellationToken);
    }

    /// <summary>
    /// The upload's messages as rows. A row of another member's employer number is refused whatever it holds, and audited
    /// once per employer number per upload.
    /// </summary>
    private async IAsyncEnumerable<UploadRow> UploadRowsAsync(
        IAsyncStreamReader<RegisterEmployeesRequest> requests, ServerCallContext context, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var member = context.Member();
        var deniedEmployers = new HashSet<string>(StringComparer.Ordinal);
        while (await requests.MoveNext(cancellationToken))
        {
            // One row per message, each charged to the member's item budget: over it the upload slows, then ends RESOURCE_EXHAUSTED.
            await budget.ChargeAsync(context, 1, "the rows before this one were answered. Send the rest after the given delay.", cancellationToken);
            var request = requests.Current;
            if (NonAsnRequests.IsEmployerNumber(request.EmployerNumber) && !member.ActsForEmployer(request.EmployerNumber))
            {
                if (deniedEmployers.Add(request.EmployerNumber))
                    await denials.RecordAsync(context, "EMPLOYER_NUMBER_NOT_OWN", "employer number of another member in a bulk upload", new DeniedResource(EmployerNumber: request.EmployerNumber), cancellationToken);
                yield return new UploadRow.NotOwnEmployer(NonAsnRequests.AnsweredRowId(request.RowId));
                continue;
            }

            yield return new NonAsnRequests(time.JakartaToday()).UploadRow(request);
        }
    }

    /// <summary>A chunk's results, flushed once rather than per row: they go out together anyway.</summary>
    private static async Task WriteRowsAsync(IServerStreamWriter<RegisterEmployeesResponse> responses, IReadOnlyList<UploadRowResult> rows, CancellationToken cancellationToken)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            responses.WriteOptions = i < rows.Count - 1 ? Buffered : null;
            await responses.WriteAsync(new RegisterEmployeesResponse { Row = NonAsnMapping.ToApi(rows[i]) }, cancellationToken);
        }
    }

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
        await denials.RecordAsync(context, "EMPLOYER_NUMBER_NOT_OWN", "employer number of another member", new DeniedResource(EmployerNumber: employerNumber), context.CancellationToken);
        throw AccessDenials.Denied(NonAsnMapping.NotOwnEmployerMessage, "EMPLOYER_NUMBER_NOT_OWN");
    }

    private RpcException Unavailable() => RpcErrors.RetryLater(
        StatusCode.Unavailable, "The participant registry is unavailable; retry the same request after the given delay.", settings.RetryDelay);

    private static RpcException Refused(RowOutcome.Refused refused) =>
        RpcErrors.WithDetails(StatusCode.InvalidArgument, NonAsnMapping.RefusedMessage, refused.Violations.ToBadRequest());
}
