using Verification.Api.Common.V1;
using Verification.Api.Prakerja.V1;

namespace Verification.Prakerja.Domain;

/// <summary>A recipient's result at its position in the batch or call; the reason is set for INVALID_NIK only.</summary>
public sealed record RecipientOutcome(long Offset, string RowId, RecipientStatus Status, InvalidNikReason Reason);
