using Google.Protobuf.Collections;
using Verification.Api.Common.V1;
using Verification.Api.Membership.V1;
using Verification.Membership.Data;
using Verification.Membership.Domain;
using Verification.Domain;
using Verification.Membership.Grpc;

namespace Verification.Membership.Features.Verify;

/// <summary>
/// Answers one chunk of a bulk verification with one set-based read: a structurally invalid NIK is an answer for its
/// row (its reason), every valid NIK of the chunk goes to the registry together.
/// </summary>
public sealed class BatchVerification(RegistryStore store)
{
    public async Task<VerifyMembershipBatchResponse> AnswerAsync(
        RepeatedField<VerifyMembershipBatchItem> items, CoverageProgram? program, DateOnly day, CancellationToken cancellationToken)
    {
        var niks = new long[items.Count];
        var invalid = new InvalidNikReason[items.Count];
        var valid = new List<long>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var validation = Nik.Validate(items[i].Nik);
            if (validation.Nik is { } nik)
            {
                niks[i] = StoredCodes.Nik(nik);
                valid.Add(niks[i]);
            }
            else
            {
                invalid[i] = validation.Problems.ToApi();
            }
        }

        var found = await store.CoveragesByNikAsync(valid, cancellationToken);
        var response = new VerifyMembershipBatchResponse();
        for (var i = 0; i < items.Count; i++)
        {
            if (invalid[i] != InvalidNikReason.Unspecified)
            {
                response.Results.Add(new VerifyMembershipBatchResult { RowId = items[i].RowId, InvalidNikReason = invalid[i] });
                continue;
            }

            var standing = found.TryGetValue(niks[i], out var coverages)
                ? MembershipStanding.Of(coverages, program, day)
                : MembershipStanding.NotRegistered;
            response.Results.Add(standing.ToBatchResult(items[i].RowId));
        }

        return response;
    }
}
