using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Verification.Api.Audit.V1;
using Verification.Audit.Data;
using Verification.Audit.Features.Integrity;

namespace Verification.Audit.Grpc;

/// <summary>Stored rows to API messages.</summary>
internal static class AuditMapping
{
    public static AuditEntry ToApi(this LogEntry entry) => new()
    {
        Index = entry.Index,
        EventId = entry.EventId.ToString("D"),
        EventType = entry.EventType,
        OccurTime = Timestamp.FromDateTimeOffset(entry.OccurredAt),
        AppendTime = Timestamp.FromDateTimeOffset(entry.AppendedAt),
        ActingMemberCode = entry.ActingMember,
        CorrelationId = entry.CorrelationId,
        TraceId = entry.TraceId,
        Keys = new SearchKeys
        {
            MaskedNik = entry.MaskedNik ?? "",
            ParticipantNumber = entry.ParticipantNumber ?? "",
            MemberCode = entry.MemberCode ?? "",
            LoanReference = entry.LoanReference ?? "",
            BatchId = entry.BatchId ?? "",
        },
        CanonicalBytes = ByteString.CopyFrom(entry.CanonicalBytes),
    };

    public static SignedTreeHead ToApi(this StoredTreeHead head) => new()
    {
        TreeSize = head.TreeSize,
        RootHash = ByteString.CopyFrom(head.RootHash),
        Timestamp = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(head.TimestampMilliseconds)),
        Signature = ByteString.CopyFrom(head.Signature),
        KeyId = head.KeyId,
    };

    public static Cosignature ToApi(this StoredCosignature cosignature) => new()
    {
        WitnessKeyId = cosignature.WitnessKeyId,
        Signature = ByteString.CopyFrom(cosignature.Signature),
        MemberCode = cosignature.MemberCode,
        AddTime = Timestamp.FromDateTimeOffset(cosignature.AddedAt),
    };

    public static Api.Audit.V1.LogIntegrity ToApi(this IntegrityReport report) => new()
    {
        Intact = report.Intact,
        Problem = report.Problem,
        FirstBadIndex = report.FirstBadIndex ?? -1,
        EntriesChecked = report.EntriesChecked,
        CheckTime = report.CheckedAt == DateTimeOffset.MinValue ? null : Timestamp.FromDateTimeOffset(report.CheckedAt),
    };
}
