using Verification.Platform.Access;
using Verification.Rentan.Data;

namespace Verification.Rentan.Features;

/// <summary>
/// A sponsor's reach: the regions its registration names, within the region scope its member has in the members file
/// today (so neither an administrator's registration nor the members file alone can widen it). No member: no reach.
/// </summary>
public sealed record SponsorScope(SponsorRecord Sponsor, Member? Member)
{
    public string SponsorCode => Sponsor.SponsorCode;

    /// <summary>A regency (4-digit code) lies within the sponsor's reach.</summary>
    public bool Covers(string regencyCode) => Sponsor.Covers(regencyCode) && Member is { } member && member.ServesRegion(regencyCode);
}
