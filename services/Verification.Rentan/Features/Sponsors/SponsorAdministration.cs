using Verification.Api;
using Verification.Api.Common.V1;
using Verification.Contracts.Events;
using Verification.Domain;
using Verification.Platform.Access;
using Verification.Rentan.Data;

namespace Verification.Rentan.Features.Sponsors;

/// <summary>A validated sponsor registration.</summary>
public sealed record SponsorCommand(string SponsorCode, string Name, IReadOnlyList<string> RegionCodes, string MemberCode, string CorrelationId);

/// <summary>A validated agreement for a sponsor and year.</summary>
public sealed record AgreementCommand(
    string SponsorCode, int Year, long Budget, IReadOnlyList<Program> Programs, DateOnly StartDate, DateOnly EndDate, long DeclaredIncome,
    string MemberCode, string CorrelationId);

/// <summary>How a registration or change ended.</summary>
public abstract record SaveResult<T>
{
    /// <summary>Stored; <paramref name="Changed"/> false when the request repeated what was stored (no event).</summary>
    public sealed record Saved(T Record, bool Changed) : SaveResult<T>;

    /// <summary>A rule of the programme refuses it; the reason is a stable code, the message plain words.</summary>
    public sealed record Refused(string Reason, string Message) : SaveResult<T>;

    public sealed record NotFound(string Message) : SaveResult<T>;
}

/// <summary>
/// Sponsors and their agreements, registered and changed by BPJS administrators: every change is an event; a repeat is
/// not. A sponsor must be a SPONSOR member whose region scope contains the regions named; an agreement's programs, dates
/// and income are fixed once contributions are committed under it, and its budget never falls below them.
/// </summary>
public sealed class SponsorAdministration(RentanStore store, MemberDirectory members, TimeProvider time)
{
    public const string SourceModule = "rentan";

    public async Task<SaveResult<SponsorRecord>> RegisterSponsorAsync(SponsorCommand command, CancellationToken cancellationToken)
    {
        if (members.FindByCode(command.SponsorCode) is not { Role: MemberRole.Sponsor } member)
            return new SaveResult<SponsorRecord>.Refused("SPONSOR_NOT_A_MEMBER", "The sponsor code is not a member with the SPONSOR role in the members file.");
        if (command.RegionCodes.FirstOrDefault(r => !member.ServesRegion(r)) is { } outside)
            return new SaveResult<SponsorRecord>.Refused("REGION_OUTSIDE_MEMBER_SCOPE", $"Region {outside} is outside the member's region scope in the members file.");

        var regions = string.Join(',', command.RegionCodes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var stored = await store.FindSponsorAsync(command.SponsorCode, cancellationToken);
            if (stored is not null && stored.Name == command.Name && stored.RegionCodes == regions) return new SaveResult<SponsorRecord>.Saved(stored, false);
            var now = time.RecordNow();
            var record = new SponsorRecord
            {
                SponsorCode = command.SponsorCode,
                Name = command.Name,
                RegionCodes = regions,
                CreateTime = stored?.CreateTime ?? now,
                UpdateTime = now,
            };
            var saved = new RentanSponsorSaved(Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, SourceModule,
                record.SponsorCode, record.Name, [.. record.Regions], stored is null ? "REGISTERED" : "CHANGED");
            if (await store.SaveSponsorAsync(record, stored is null, saved, cancellationToken)) return new SaveResult<SponsorRecord>.Saved(record, true);
        }

        throw new InvalidOperationException("Registering a sponsor collided with concurrent registrations three times.");
    }

    public async Task<SaveResult<AgreementRecord>> SaveAgreementAsync(AgreementCommand command, CancellationToken cancellationToken)
    {
        if (await store.FindSponsorAsync(command.SponsorCode, cancellationToken) is null)
            return new SaveResult<AgreementRecord>.NotFound("No sponsor has this code: register the sponsor first.");
        var id = AgreementRecord.IdOf(command.SponsorCode, command.Year);
        var programs = ProgramCodes.Join(command.Programs);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var now = time.RecordNow();
            var (found, result) = await store.ChangeAgreementAsync<SaveResult<AgreementRecord>>(id, agreement =>
            {
                var terms = agreement.Programs == programs && agreement.StartDate == command.StartDate && agreement.EndDate == command.EndDate
                    && agreement.DeclaredIncome == command.DeclaredIncome;
                if (terms && agreement.Budget == command.Budget) return (new SaveResult<AgreementRecord>.Saved(agreement, false), null);
                if (!terms && agreement.Committed > 0)
                    return (new SaveResult<AgreementRecord>.Refused("AGREEMENT_IN_USE", "Contributions are committed under this agreement: only its budget may change."), null);
                if (command.Budget < agreement.Committed)
                    return (new SaveResult<AgreementRecord>.Refused("BUDGET_BELOW_COMMITTED", $"The budget cannot fall below the {Rupiah.Format(agreement.Committed)} already committed."), null);
                var previous = agreement.Budget;
                agreement.Budget = command.Budget;
                agreement.Programs = programs;
                agreement.StartDate = command.StartDate;
                agreement.EndDate = command.EndDate;
                agreement.DeclaredIncome = command.DeclaredIncome;
                agreement.UpdateTime = now;
                return (new SaveResult<AgreementRecord>.Saved(agreement, true), Saved(agreement, previous, "CHANGED", command, now));
            }, cancellationToken);
            if (found) return result;

            var created = new AgreementRecord
            {
                AgreementId = id,
                SponsorCode = command.SponsorCode,
                Year = command.Year,
                Budget = command.Budget,
                Programs = programs,
                StartDate = command.StartDate,
                EndDate = command.EndDate,
                DeclaredIncome = command.DeclaredIncome,
                CreateTime = now,
                UpdateTime = now,
            };
            if (await store.AddAgreementAsync(created, Saved(created, 0, "REGISTERED", command, now), cancellationToken))
                return new SaveResult<AgreementRecord>.Saved(created, true);
        }

        throw new InvalidOperationException("Saving an agreement collided with concurrent saves three times.");
    }

    private static RentanAgreementSaved Saved(AgreementRecord agreement, long previousBudget, string change, AgreementCommand command, DateTimeOffset now) => new(
        Guid.CreateVersion7(now), now, command.CorrelationId, command.MemberCode, SourceModule, agreement.SponsorCode, agreement.AgreementId, agreement.Year,
        agreement.Budget, previousBudget, [.. agreement.Programs.Split(',')], WibCalendar.StartOf(agreement.StartDate), WibCalendar.EndOf(agreement.EndDate),
        agreement.DeclaredIncome, change);
}
