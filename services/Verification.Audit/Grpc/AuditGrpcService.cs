using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Verification.Api.Audit.V1;
using Verification.Audit.Features.Integrity;
using Verification.Audit.Features.Proofs;
using Verification.Audit.Features.Read;
using Verification.Audit.Features.Trace;
using Verification.Audit.Features.Witness;
using Verification.Audit.Data;
using Verification.Platform.Access;
using Grpc.Core;
using Verification.Api;

namespace Verification.Audit.Grpc;

/// <summary><c>verification.audit.v1.AuditService</c>: validate, call the feature, map. Read-only, auditors only.</summary>
public sealed class AuditGrpcService(TraceQuery trace, LogReader reader, LogProofs proofs, Cosignatures cosignatures, Features.Integrity.LogIntegrity integrity)
    : AuditService.AuditServiceBase
{
    /// <summary>Entries per StreamEntries message.</summary>
    public const int EntriesPerMessage = 1000;

    public const int DefaultTraceLimit = 1000;
    public const int MaxTraceLimit = 10_000;
    public const int MaxEntriesPerCall = 1000;
    private const int MaxKeyLength = 256;

    [RpcRoles(MemberRole.Auditor)]
    public override async Task Trace(TraceRequest request, IServerStreamWriter<TraceResponse> responseStream, ServerCallContext context)
    {
        var criteria = Validate(request);
        await foreach (var entry in trace.RunAsync(criteria, context.CancellationToken))
        {
            await responseStream.WriteAsync(new TraceResponse { Entry = entry.ToApi() }, context.CancellationToken);
        }
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task<GetEntriesResponse> GetEntries(GetEntriesRequest request, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        if (request.FromIndex < 0)
        {
            violations.Add(("from_index", "must be 0 or more"));
        }

        if (request.Count is < 1 or > MaxEntriesPerCall)
        {
            violations.Add(("count", $"must be from 1 to {MaxEntriesPerCall}"));
        }

        ThrowIfAny(violations);
        try
        {
            var entries = await reader.EntriesAsync(request.FromIndex, request.Count, context.CancellationToken);
            var response = new GetEntriesResponse();
            response.Entries.AddRange(entries.Select(e => e.ToApi()));
            return response;
        }
        catch (LogGapException gap)
        {
            throw DataLoss(gap);
        }
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task StreamEntries(StreamEntriesRequest request, IServerStreamWriter<StreamEntriesResponse> responseStream, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        if (request.FromIndex < 0) violations.Add(("from_index", "must be 0 or more"));
        if (request.ToIndex < 0) violations.Add(("to_index", "must be 0 (the latest signed tree head's size) or more"));
        ThrowIfAny(violations);
        var signedSize = (await reader.LatestTreeHeadAsync(context.CancellationToken))?.TreeSize ?? throw NoTreeHead();
        var to = request.ToIndex == 0 ? signedSize : request.ToIndex;
        if (to > signedSize) throw RpcErrors.Of(StatusCode.OutOfRange, $"The latest signed tree head covers {signedSize} entries; ask for entries up to it.");
        if (request.FromIndex > to) throw RpcErrors.Of(StatusCode.OutOfRange, "from_index is past to_index.");
        try
        {
            var message = new StreamEntriesResponse();
            await foreach (var entry in reader.StreamAsync(request.FromIndex, to, context.CancellationToken))
            {
                message.Entries.Add(entry.ToApi());
                if (message.Entries.Count < EntriesPerMessage) continue;
                await responseStream.WriteAsync(message, context.CancellationToken);
                message = new StreamEntriesResponse();
            }

            if (message.Entries.Count > 0) await responseStream.WriteAsync(message, context.CancellationToken);
        }
        catch (LogGapException gap)
        {
            throw DataLoss(gap);
        }
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task<GetTreeHeadResponse> GetTreeHead(GetTreeHeadRequest request, ServerCallContext context)
    {
        StoredTreeHead head;
        if (request.WitnessKeyIds.Count == 0)
        {
            head = await reader.LatestTreeHeadAsync(context.CancellationToken) ?? throw NoTreeHead();
        }
        else
        {
            var quorum = request.Quorum == 0 ? request.WitnessKeyIds.Distinct().Count() : request.Quorum;
            if (request.Quorum < 0 || quorum > request.WitnessKeyIds.Distinct().Count())
                ThrowIfAny([("quorum", "must be 0 (all the witnesses given) or at most the number of distinct witness key ids")]);
            if (request.WitnessKeyIds.Any(id => id.Length != 64 || !id.All(char.IsAsciiHexDigit)))
                ThrowIfAny([("witness_key_ids", "each is the 64 hex digits of a witness key id")]);
            head = await cosignatures.NewestCosignedAsync(request.WitnessKeyIds, quorum, context.CancellationToken)
                ?? throw RpcErrors.Of(StatusCode.NotFound, $"No signed tree head has cosignatures from {quorum} of those witnesses.");
        }

        var answer = head.ToApi();
        answer.Cosignatures.AddRange((await cosignatures.ForHeadAsync(head.TreeSize, context.CancellationToken)).Select(c => c.ToApi()));
        return new GetTreeHeadResponse { TreeHead = answer, Integrity = integrity.Current.ToApi() };
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task<AddCosignatureResponse> AddCosignature(AddCosignatureRequest request, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        if (request.TreeSize < 1) violations.Add(("tree_size", "must be the size of a signed tree head, 1 or more"));
        if (request.WitnessPublicKey.Length is 0 or > 4096) violations.Add(("witness_public_key", "must be a PEM public key of at most 4096 characters"));
        if (request.Signature.Length is 0 or > 128) violations.Add(("signature", "must be a DER ECDSA P-256 signature (at most 128 bytes)"));
        ThrowIfAny(violations);
        var outcome = await cosignatures.AddAsync(request.TreeSize, request.WitnessPublicKey, request.Signature.ToByteArray(), context.Member().Code, context.CancellationToken);
        return outcome switch
        {
            CosignOutcome.Kept kept => new AddCosignatureResponse { WitnessKeyId = kept.WitnessKeyId },
            CosignOutcome.NoSuchHead => throw RpcErrors.Of(StatusCode.NotFound, "The log signed no tree head of that size."),
            CosignOutcome.Invalid invalid => throw RpcErrors.InvalidArgument([(invalid.Field, invalid.Reason)]),
            _ => throw new InvalidOperationException($"Unexpected cosignature outcome {outcome.GetType().Name}."),
        };
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task<GetInclusionProofResponse> GetInclusionProof(GetInclusionProofRequest request, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        long? index = null;
        var eventId = Guid.Empty;
        switch (request.EntryCase)
        {
            case GetInclusionProofRequest.EntryOneofCase.Index:
                if (request.Index < 0)
                {
                    violations.Add(("index", "must be 0 or more"));
                }

                index = request.Index;
                break;
            case GetInclusionProofRequest.EntryOneofCase.EventId:
                if (!Guid.TryParseExact(request.EventId, "D", out eventId))
                {
                    violations.Add(("event_id", "must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e"));
                }

                break;
            default:
                violations.Add(("entry", "give the entry's index or its event_id"));
                break;
        }

        if (request.TreeSize < 0)
        {
            violations.Add(("tree_size", "must be 0 (the latest signed tree head) or more"));
        }

        ThrowIfAny(violations);
        var answer = await proofs.InclusionAsync(index, eventId, request.TreeSize, context.CancellationToken);
        ThrowIfRefused(answer.Refusal, answer.Reason);
        var proof = new InclusionProof { LeafIndex = answer.Entry!.Index, TreeSize = answer.TreeSize };
        proof.AuditPath.AddRange(answer.AuditPath.Select(ByteString.CopyFrom));
        return new GetInclusionProofResponse { Proof = proof, Entry = answer.Entry.ToApi() };
    }

    [RpcRoles(MemberRole.Auditor)]
    public override async Task<GetConsistencyProofResponse> GetConsistencyProof(GetConsistencyProofRequest request, ServerCallContext context)
    {
        var violations = new List<(string, string)>();
        if (request.FirstSize < 0)
        {
            violations.Add(("first_size", "must be 0 or more"));
        }

        if (request.SecondSize < 0)
        {
            violations.Add(("second_size", "must be 0 (the latest signed tree head) or more"));
        }

        ThrowIfAny(violations);
        var answer = await proofs.ConsistencyAsync(request.FirstSize, request.SecondSize, context.CancellationToken);
        ThrowIfRefused(answer.Refusal, answer.Reason);
        var proof = new ConsistencyProof { FirstSize = answer.FirstSize, SecondSize = answer.SecondSize };
        proof.Path.AddRange(answer.Path.Select(ByteString.CopyFrom));
        return new GetConsistencyProofResponse { Proof = proof };
    }

    private static TraceCriteria Validate(TraceRequest request)
    {
        var violations = new List<(string, string)>();
        var (key, value, field) = request.FilterCase switch
        {
            TraceRequest.FilterOneofCase.Nik => (TraceKey.Nik, request.Nik, "nik"),
            TraceRequest.FilterOneofCase.ParticipantNumber => (TraceKey.ParticipantNumber, request.ParticipantNumber, "participant_number"),
            TraceRequest.FilterOneofCase.MemberCode => (TraceKey.MemberCode, request.MemberCode, "member_code"),
            TraceRequest.FilterOneofCase.LoanReference => (TraceKey.LoanReference, request.LoanReference, "loan_reference"),
            TraceRequest.FilterOneofCase.BatchId => (TraceKey.BatchId, request.BatchId, "batch_id"),
            TraceRequest.FilterOneofCase.CorrelationId => (TraceKey.CorrelationId, request.CorrelationId, "correlation_id"),
            TraceRequest.FilterOneofCase.EventType => (TraceKey.EventType, request.EventType, "event_type"),
            _ => (TraceKey.All, "", ""),
        };
        if (key == TraceKey.Nik)
        {
            // Never echoed: a violation names the rule, not the value.
            if (value.Length != 16 || !value.All(char.IsAsciiDigit))
            {
                violations.Add(("nik", "a NIK is 16 digits"));
            }
        }
        else if (key != TraceKey.All && (value.Length == 0 || value.Length > MaxKeyLength))
        {
            violations.Add((field, $"must be 1 to {MaxKeyLength} characters"));
        }

        var start = Instant(request.StartTime, "start_time", violations);
        var end = Instant(request.EndTime, "end_time", violations);
        if (start is not null && end is not null && end <= start)
        {
            violations.Add(("end_time", "must be after start_time"));
        }

        if (!System.Enum.IsDefined(request.Order))
        {
            violations.Add(("order", "must be TRACE_ORDER_NEWEST_FIRST or TRACE_ORDER_OLDEST_FIRST"));
        }

        if (request.HasAfterIndex && request.AfterIndex < 0)
        {
            violations.Add(("after_index", "must be 0 or more"));
        }

        if (request.Limit is < 0 or > MaxTraceLimit)
        {
            violations.Add(("limit", $"must be from 1 to {MaxTraceLimit} (0 means {DefaultTraceLimit})"));
        }

        ThrowIfAny(violations);
        return new TraceCriteria(
            key,
            value,
            start,
            end,
            NewestFirst: request.Order != TraceOrder.OldestFirst,
            AfterIndex: request.HasAfterIndex ? request.AfterIndex : null,
            Limit: request.Limit == 0 ? DefaultTraceLimit : request.Limit);
    }

    private static DateTimeOffset? Instant(Timestamp? timestamp, string field, List<(string, string)> violations)
    {
        if (timestamp is null)
        {
            return null;
        }

        // The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31, nanos within one second.
        if (timestamp.Seconds is < -62_135_596_800 or > 253_402_300_799 || timestamp.Nanos is < 0 or > 999_999_999)
        {
            violations.Add((field, "is not a valid timestamp"));
            return null;
        }

        return timestamp.ToDateTimeOffset();
    }

    private static void ThrowIfAny(List<(string Field, string Description)> violations)
    {
        if (violations.Count > 0)
        {
            throw RpcErrors.InvalidArgument(violations);
        }
    }

    private static void ThrowIfRefused(ProofRefusal refusal, string reason)
    {
        switch (refusal)
        {
            case ProofRefusal.None:
                return;
            case ProofRefusal.NoTreeHead:
                throw NoTreeHead();
            case ProofRefusal.EntryNotFound:
                throw RpcErrors.Of(StatusCode.NotFound, reason);
            default:
                throw RpcErrors.Of(StatusCode.OutOfRange, reason);
        }
    }

    private static RpcException DataLoss(LogGapException gap) =>
        RpcErrors.Of(StatusCode.DataLoss, $"Entry {gap.MissingIndex} is missing from the stored log: the log is damaged and its operator has been alerted.");

    private static RpcException NoTreeHead() =>
        RpcErrors.RetryLater(StatusCode.Unavailable, "The audit log has not signed a tree head yet.", TimeSpan.FromSeconds(1));
}
