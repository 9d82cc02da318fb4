using Verification.Domain;
using Verification.Membership.Data;
using Verification.Membership.Domain;

namespace Verification.Membership.Features.Lookup;

/// <summary>A participant's whole record, with every coverage, by participant number or NIK (internal services and auditors).</summary>
public sealed class ParticipantLookup(RegistryStore store)
{
    public Task<ParticipantRecord?> FindAsync(ParticipantNumber number, CancellationToken cancellationToken) =>
        store.FindParticipantAsync(number.Sequence, cancellationToken);

    public Task<ParticipantRecord?> FindAsync(Nik nik, CancellationToken cancellationToken) =>
        store.FindParticipantByNikAsync(StoredCodes.Nik(nik), cancellationToken);
}
