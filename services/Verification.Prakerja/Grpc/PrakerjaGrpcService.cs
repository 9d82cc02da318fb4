using Google.Rpc;
using Verification.Domain;
using Verification.Api.Prakerja.V1;
using Verification.Platform.Access;
using Verification.Prakerja.Features.CrossCheck;
using Verification.Prakerja.Features.Results;
using Verification.Prakerja.Features.Submit;
using Grpc.Core;
using Verification.Api;

namespace Verification.Prakerja.Grpc;

/// <summary>
/// <c>verification.prakerja.v1.PrakerjaService</c>: validate, call the feature, map the answer. Every RPC is for the
/// Prakerja PMO (reading a batch also for auditors); the access interceptor refuses (and audits) every other role before a
/// handler runs, and a batch is read only by the member that submitted it (and auditors).
/// </summary>
public sealed class PrakerjaGrpcService(
    InteractiveCrossCheck crossCheck,
    BatchSubmission submission,
    BatchResults results,
    AccessDenials denials,
    ItemBudget budget,
    PrakerjaSettings settings) : PrakerjaService.PrakerjaServiceBase
{
    public const string BatchResourceType = "verification.prakerja.v1.Batch";

    [RpcRoles(MemberRole.PrakerjaPmo)]
    public override async Task CrossCheck(IAsyncStreamReader<CrossCheckRequest> requestStream, IServerStreamWriter<CrossCheckResponse> responseStream, ServerCallContext context)
    {
        // Each recipient is charged to the member's item budget as its message is read.
        var messages = budget.Charged(PrakerjaRequests.CrossCheckMessages(requestStream, context.CancellationToken), lines => lines.Count, context,
            "the recipients before this message were answered. Send the rest after the given delay.", context.CancellationToken);
        var outcome = await crossCheck.RunAsync(messages,
            outcomes => responseStream.WriteAsync(new CrossCheckResponse { Results = { outcomes.Select(PrakerjaMapping.ToApi) } }, context.CancellationToken),
            context.CancellationToken);
        switch (outcome)
        {
            case CrossCheckOutcome.Answered:
                return;
            case CrossCheckOutcome.Malformed malformed:
                throw Invalid("A message of the stream is malformed; the recipients before it were answered.", malformed.Violations);
            case CrossCheckOutcome.InputEnded ended:
                throw ended.Status;
            case CrossCheckOutcome.RegistryUnavailable:
                throw RpcErrors.RetryLater(StatusCode.Unavailable, "The participant registry is unavailable; retry the call after the given delay.", settings.RetryDelay);
            default:
                throw new InvalidOperationException($"Unexpected CrossCheck outcome {outcome.GetType().Name}.");
        }
    }

    [RpcRoles(MemberRole.PrakerjaPmo)]
    public override async Task<SubmitBatchResponse> SubmitBatch(IAsyncStreamReader<SubmitBatchRequest> requestStream, ServerCallContext context)
    {
        // Each recipient is charged as its chunk is read: over the budget the upload slows; past the longest wait it breaks and keeps nothing.
        var messages = budget.Charged(PrakerjaRequests.UploadMessages(requestStream, context.CancellationToken),
            message => message is UploadMessage.Recipients { Lines: var lines } ? lines.Count : 0, context,
            "nothing of this upload was kept. Send it again (with the same idempotency key) after the given delay, or in smaller batches over time.", context.CancellationToken);
        var outcome = await submission.SubmitAsync(messages,
            context.Member().Code, context.CorrelationId(), context.CancellationToken);
        return outcome switch
        {
            SubmitOutcome.Accepted accepted => PrakerjaMapping.ToApi(accepted.Receipt),
            SubmitOutcome.Malformed { BatchId: null } first => throw Invalid("The first message must be a valid header; nothing was kept.", first.Violations),
            SubmitOutcome.Malformed truncated => throw Invalid(
                "The upload ended with a malformed message; the recipients received before it form the batch named in the ResourceInfo (input_truncated).",
                truncated.Violations,
                new ResourceInfo { ResourceType = BatchResourceType, ResourceName = truncated.BatchId, Description = "The batch holding the recipients received before the malformed message." }),
            SubmitOutcome.KeyReused => throw RpcErrors.WithDetails(StatusCode.AlreadyExists,
                "This idempotency key was already used for an upload with a different input.",
                new ErrorInfo { Reason = "IDEMPOTENCY_KEY_REUSED", Domain = "verification.bpjsketenagakerjaan.go.id" }),
            var other => throw new InvalidOperationException($"Unexpected upload outcome {other.GetType().Name}."),
        };
    }

    [RpcRoles(MemberRole.PrakerjaPmo, MemberRole.Auditor)]
    public override async Task<GetBatchResponse> GetBatch(GetBatchRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations(TimeProvider.System.JakartaToday());
        BatchId(request.BatchId, violations);
        violations.ThrowIfAny();
        var report = await results.GetAsync(request.BatchId, context.CancellationToken)
            ?? throw RpcErrors.Of(StatusCode.NotFound, "No batch has this id.");
        await RequireOwnerAsync(report.Batch.SubmitMemberCode, request.BatchId, context);
        return new GetBatchResponse { Batch = PrakerjaMapping.ToApi(report) };
    }

    /// <summary>A batch is read by the member that submitted it and by auditors; anyone else is refused, and audited.</summary>
    private async Task RequireOwnerAsync(string submitter, string batchId, ServerCallContext context)
    {
        var member = context.Member();
        if (member.Role == MemberRole.Auditor || string.Equals(member.Code, submitter, StringComparison.Ordinal)) return;
        await denials.RecordAsync(context, "BATCH_NOT_OWN", "a batch is read only by the member that submitted it and by auditors",
            new DeniedResource(BatchId: batchId), context.CancellationToken);
        throw AccessDenials.Denied("This batch was submitted by another member.", "BATCH_NOT_OWN");
    }

    [RpcRoles(MemberRole.PrakerjaPmo, MemberRole.Auditor)]
    public override async Task StreamBatchResults(StreamBatchResultsRequest request, IServerStreamWriter<StreamBatchResultsResponse> responseStream, ServerCallContext context)
    {
        var violations = new FieldViolations(TimeProvider.System.JakartaToday());
        BatchId(request.BatchId, violations);
        if (request.FromOffset < 0) violations.Add("from_offset", "OFFSET_NEGATIVE", "An offset is 0 or more.");
        for (var i = 0; i < request.StatusFilter.Count; i++)
        {
            if (request.StatusFilter[i] == RecipientStatus.Unspecified || !Enum.IsDefined(request.StatusFilter[i]))
                violations.Add($"status_filter[{i}]", "STATUS_UNKNOWN", "A filter names result statuses (NOT_REGISTERED ... DUPLICATE_IN_BATCH).");
        }

        violations.ThrowIfAny();
        var report = await results.GetAsync(request.BatchId, context.CancellationToken)
            ?? throw RpcErrors.Of(StatusCode.NotFound, "No batch has this id.");
        await RequireOwnerAsync(report.Batch.SubmitMemberCode, request.BatchId, context);
        var end = await results.StreamAsync(request.BatchId, request.FromOffset, [.. request.StatusFilter.Distinct()],
            page => responseStream.WriteAsync(new StreamBatchResultsResponse { Results = { page.Select(PrakerjaMapping.ToApi) } }, context.CancellationToken),
            context.CancellationToken);
        switch (end)
        {
            case ResultStreamEnd.Completed:
                return;
            case ResultStreamEnd.NotFound:
                throw RpcErrors.Of(StatusCode.NotFound, "No batch has this id.");
            case ResultStreamEnd.Expired:
                throw RpcErrors.WithDetails(StatusCode.FailedPrecondition, "The batch's retention period has passed: its results were purged; GetBatch still gives its totals and digest.",
                    new PreconditionFailure { Violations = { new PreconditionFailure.Types.Violation { Type = "BATCH_EXPIRED", Subject = request.BatchId, Description = "Results purged after the retention period." } } });
            default:
                throw RpcErrors.WithDetails(StatusCode.FailedPrecondition, "The batch FAILED; the results it has were sent. An operator must look at it.",
                    new PreconditionFailure { Violations = { new PreconditionFailure.Types.Violation { Type = "BATCH_FAILED", Subject = request.BatchId, Description = "Processing failed for good." } } });
        }
    }

    private static void BatchId(string batchId, FieldViolations violations)
    {
        if (batchId.Length != 32 || !batchId.All(char.IsAsciiHexDigitLower))
            violations.Add("batch_id", "BATCH_ID_INVALID", "A batch id is the 32 lower-case hexadecimal characters SubmitBatch returned.");
    }

    private static RpcException Invalid(string message, IReadOnlyList<FieldViolation> violations, params Google.Protobuf.IMessage[] more) =>
        RpcErrors.WithDetails(StatusCode.InvalidArgument, message, [violations.ToBadRequest(), .. more]);
}
